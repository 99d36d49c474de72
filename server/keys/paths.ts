/**
 * Key Storage paths. Every entry lives under `keys/` (Rundeck's storage
 * root); project keys by convention under `keys/project/NAME/`. A path is a
 * list of segments of letters, digits and `_ . @ + -`, never `.` or `..`,
 * so a path can be shown and matched by ACL rules without surprises.
 */
import { TandemError } from '../errors.js';

const SEGMENT = /^[A-Za-z0-9_.@+-]{1,200}$/;
const MAX_PATH = 1000;

/** `keys/a/b` from the part of a URL or attribute after `keys/` (or with it); empty = the root directory `keys`. */
export function normalizeKeyPath(raw: string, field = 'path'): string {
  let p = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === 'keys') return 'keys';
  if (p.startsWith('keys/')) p = p.slice(5);
  if (p === '') return 'keys';
  const segments = p.split('/');
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === '.' || s === '..') {
      throw new TandemError('validation_failed', `invalid key storage path segment ${JSON.stringify(s.slice(0, 50))}: use letters, digits and _ . @ + - (not "." or "..")`, { field });
    }
  }
  const full = `keys/${segments.join('/')}`;
  if (full.length > MAX_PATH) throw new TandemError('validation_failed', `key storage path longer than ${MAX_PATH} characters`, { field });
  return full;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The key paths of a node's attributes may name `${job.project}` and `${node.name}` (as in Rundeck). */
export function expandKeyPath(template: string, ctx: { project: string; nodeName: string }): string {
  return template.replace(/\$\{(job\.project|node\.name)\}/g, (_, k: string) => (k === 'job.project' ? ctx.project : ctx.nodeName));
}
