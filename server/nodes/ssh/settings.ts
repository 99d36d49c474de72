/**
 * How to reach a node over SSH, from its attributes, then the project's
 * settings, then the server's configuration (Rundeck's order: node, project,
 * framework). Attribute names are Rundeck's (server/nodes/README.md).
 */
import { userInfo } from 'node:os';
import { TandemError } from '../../errors.js';
import { expandKeyPath, normalizeKeyPath } from '../../keys/paths.js';
import type { NodeEntry } from '../node-executor.js';
import { HOST_KEY_POLICIES, type HostKeyPolicy } from './host-keys.js';

/** Settings a project may set for all its nodes (PUT /api/v1/projects/P/ssh/settings). */
export const PROJECT_SETTINGS = Object.freeze([
  'username',
  'ssh-authentication',
  'ssh-key-storage-path',
  'ssh-key-passphrase-storage-path',
  'ssh-password-storage-path',
  'ssh-connect-timeout',
  'ssh-command-timeout',
  'ssh-host-key-policy',
  'ssh-send-env',
  'file-copy-destination-dir',
] as const);

/** Check a project's settings once, when they are set (the same rules as resolveTarget applies at run time). */
export function validateProjectSettings(input: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (!(PROJECT_SETTINGS as readonly string[]).includes(k)) {
      throw new TandemError('validation_failed', `unknown SSH setting ${JSON.stringify(k)} (known: ${PROJECT_SETTINGS.join(', ')})`, { field: k });
    }
    if (typeof v !== 'string') throw new TandemError('validation_failed', `${k} must be a string`, { field: k });
    out[k] = v;
  }
  // Resolve a sample node that sets nothing itself: every project value is then checked as it will be used.
  // Credentials may well be left to the nodes: a stand-in path then takes their place for the check.
  const check = { ...out };
  if (!check['ssh-key-storage-path'] && !check['ssh-password-storage-path']) {
    check[check['ssh-authentication'] === 'password' ? 'ssh-password-storage-path' : 'ssh-key-storage-path'] = 'keys/node-sets-it';
  }
  const sample: NodeEntry = { name: '(project default)', tags: [], attributes: { hostname: 'example.invalid' } };
  resolveTarget(sample, 'p', check, { hostKeyPolicy: 'accept-new', connectTimeout: 0 });
  return out;
}

export interface SshDefaults {
  hostKeyPolicy: HostKeyPolicy;
  /** ms, 0 = none */
  connectTimeout: number;
}

export type SshAuth = { kind: 'key'; keyPath: string; passphrasePath?: string } | { kind: 'password'; passwordPath: string };

export interface SshTarget {
  node: string;
  host: string;
  port: number;
  /** `host:port`, the endpoint known host keys are recorded for */
  endpoint: string;
  username: string;
  auth: SshAuth;
  hostKeyPolicy: HostKeyPolicy;
  connectTimeout: number;
  commandTimeout: number;
  sendEnv: boolean;
  copyDir: string;
}

function nonNegativeMs(node: string, name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw new TandemError('validation_failed', `node ${node}: ${name} must be a number of milliseconds (0 = none), got ${JSON.stringify(v)}`, { field: name });
  return Number(v);
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`. */
export function parseHostname(node: string, hostname: string | undefined): { host: string; port: number } {
  if (!hostname) throw new TandemError('validation_failed', `node ${node} has no hostname attribute`, { field: 'hostname' });
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostname) ?? /^([^:]+)(?::(\d+))?$/.exec(hostname);
  if (!m) throw new TandemError('validation_failed', `node ${node}: hostname ${JSON.stringify(hostname)} is not host or host:port`, { field: 'hostname' });
  const port = m[2] ? Number(m[2]) : 22;
  if (port < 1 || port > 65535) throw new TandemError('validation_failed', `node ${node}: port ${port} out of range`, { field: 'hostname' });
  return { host: m[1]!, port };
}

export function resolveTarget(node: NodeEntry, project: string, projectSettings: Record<string, string>, d: SshDefaults): SshTarget {
  const get = (name: string): string | undefined => node.attributes[name] ?? projectSettings[name];
  const { host, port } = parseHostname(node.name, node.attributes.hostname);
  const ctx = { project, nodeName: node.name };
  const path = (name: string) => {
    const v = get(name);
    return v ? normalizeKeyPath(expandKeyPath(v, ctx), name) : undefined;
  };
  const keyPath = path('ssh-key-storage-path');
  const passwordPath = path('ssh-password-storage-path');
  const wanted = get('ssh-authentication');
  if (wanted !== undefined && wanted !== 'privateKey' && wanted !== 'password') {
    throw new TandemError('validation_failed', `node ${node.name}: ssh-authentication must be privateKey or password, got ${JSON.stringify(wanted)}`, { field: 'ssh-authentication' });
  }
  let auth: SshAuth;
  if (wanted === 'password' || (!keyPath && passwordPath)) {
    if (!passwordPath) throw new TandemError('validation_failed', `node ${node.name}: ssh-authentication is password but ssh-password-storage-path is not set`, { field: 'ssh-password-storage-path' });
    auth = { kind: 'password', passwordPath };
  } else if (keyPath) {
    auth = { kind: 'key', keyPath, passphrasePath: path('ssh-key-passphrase-storage-path') };
  } else {
    const hint = get('ssh-keypath') ? ' (ssh-keypath, a key file on the server, is not supported: store the key in Key Storage)' : '';
    throw new TandemError('validation_failed', `node ${node.name}: no SSH credentials: set ssh-key-storage-path or ssh-password-storage-path${hint}`, { field: 'ssh-key-storage-path' });
  }
  const policy = get('ssh-host-key-policy') ?? d.hostKeyPolicy;
  if (!(HOST_KEY_POLICIES as readonly string[]).includes(policy)) {
    throw new TandemError('validation_failed', `node ${node.name}: ssh-host-key-policy must be ${HOST_KEY_POLICIES.join(' or ')}, got ${JSON.stringify(policy)}`, { field: 'ssh-host-key-policy' });
  }
  const username = node.attributes.username || projectSettings.username || userInfo().username;
  return {
    node: node.name,
    host,
    port,
    endpoint: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    username,
    auth,
    hostKeyPolicy: policy as HostKeyPolicy,
    connectTimeout: nonNegativeMs(node.name, 'ssh-connect-timeout', get('ssh-connect-timeout'), d.connectTimeout),
    commandTimeout: nonNegativeMs(node.name, 'ssh-command-timeout', get('ssh-command-timeout'), 0),
    sendEnv: get('ssh-send-env') === 'true',
    copyDir: (get('file-copy-destination-dir') ?? '/tmp').replace(/\/+$/, '') || '/',
  };
}
