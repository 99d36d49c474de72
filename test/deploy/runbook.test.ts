// The documented commands are the real ones: every `tandem ...` (or
// `node bin/tandem.js ...`) command line in the READMEs (deploy/README.md, the
// runbook, and every other README.md of the repository: code blocks and inline
// code), in the systemd units' ExecStart and in the Kubernetes containers' args is run with --help added,
// through the CLI's entry point (replicator/cli/tandem.ts). `tandem` parses flags
// strictly before it looks at --help, so a command or flag that does not
// exist fails here (exit 2) instead of in an operator's hands.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { main } from '../../replicator/cli/tandem.js';
import { root } from './nginx-render.js';

const deploy = path.join(root, 'deploy');

/** Split a shell command line into words (plain, '…' and "…" words; no expansions). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m; (m = re.exec(line)); ) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

interface Documented {
  where: string;
  argv: string[];
}

/** The READMEs whose commands are checked here (paths from the repository root). */
const READMES = ['README.md', 'server/README.md', 'replicator/demo/README.md', 'replicator/README.md', 'deploy/README.md', 'test/README.md'];

/** `tandem ...` lines of a README: fenced code (comments cut) and inline code spans. */
function readmeCommands(file: string): Documented[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const found: Documented[] = [];
  const add = (line: string, where: string) => {
    const cmd = line.replace(/\s+#.*$/, '').trim();
    const m = /^(?:tandem|node bin\/tandem\.js)\s+(.*)$/.exec(cmd);
    if (m) found.push({ where, argv: words(m[1]!) });
  };
  let inFence = false;
  let continued = '';
  for (const [i, line] of text.split('\n').entries()) {
    if (/^\s*```/.test(line)) {
      inFence = !inFence;
      continue;
    }
    // A command continued on the next line (`\` at the end) is one command.
    if (inFence && /\\$/.test(line)) {
      continued += line.trim().slice(0, -1) + ' ';
      continue;
    }
    if (inFence) {
      add(continued + line.trim(), `${file}:${i + 1}`);
      continued = '';
    } else for (const m of line.matchAll(/`((?:tandem|node bin\/tandem\.js) [^`]+)`/g)) add(m[1]!, `${file}:${i + 1}`);
  }
  return found;
}

function runbookCommands(): Documented[] {
  return readmeCommands('deploy/README.md');
}

/** Commands that systemd units and Kubernetes containers run (after `.../bin/tandem.js`). */
function serviceCommands(): Documented[] {
  const out: Documented[] = [];
  for (const unit of ['systemd/tandem-server.service', 'systemd/tandem-replicate.service']) {
    const exec = /^ExecStart=.*\/bin\/tandem\.js (.*)$/m.exec(readFileSync(path.join(deploy, unit), 'utf8'));
    if (exec) out.push({ where: unit, argv: words(exec[1]!) });
  }
  for (const site of ['site-a', 'site-b']) {
    for (const f of readdirSync(path.join(deploy, 'kubernetes', site))) {
      for (const doc of parseAllDocuments(readFileSync(path.join(deploy, 'kubernetes', site, f), 'utf8'))) {
        const obj = doc.toJS() as { spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } } } | null;
        for (const c of obj?.spec?.template?.spec?.containers ?? []) {
          const i = c.args?.findIndex((a) => a.endsWith('/bin/tandem.js')) ?? -1;
          if (i >= 0) out.push({ where: `kubernetes/${site}/${f}`, argv: c.args!.slice(i + 1) });
        }
      }
    }
  }
  return out;
}

/**
 * `tandem ARGV --help` through the CLI's own entry point (what bin/tandem.js
 * runs), in this process: dozens of node start-ups would take minutes on a
 * busy machine. Usage errors go to stderr, which is captured meanwhile.
 */
async function tandemHelp(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main([...argv, '--help'], (line) => (stdout += line + '\n'));
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}

t.test('every documented tandem command line is accepted by tandem', async (t) => {
  const documented = [...runbookCommands(), ...serviceCommands()];
  const names = new Set(documented.map((d) => d.argv.filter((a) => !a.startsWith('-'))[0]));
  for (const needed of ['failover', 'rejoin', 'status', 'replicate', 'config', 'token'])
    t.ok(names.has(needed), `the runbook documents tandem ${needed}`);
  t.ok(documented.some((d) => d.argv.includes('--dry-run') && d.argv[0] === 'failover'), 'the runbook shows failover --dry-run');
  t.ok(documented.some((d) => d.argv.includes('--resync')), 'the runbook shows replicate --resync');

  // Each distinct command line once.
  const unique = [...new Map(documented.map((d) => [d.argv.join(' '), d])).values()];
  const results: Array<{ d: Documented; r: Awaited<ReturnType<typeof tandemHelp>> }> = [];
  for (const d of unique) results.push({ d, r: await tandemHelp(d.argv) });
  for (const { d, r } of results) {
    t.equal(r.code, 0, `${d.where}: tandem ${d.argv.join(' ')} --help exits 0${r.code ? `\n${r.stderr}` : ''}`);
    t.match(r.stdout, /^Usage: tandem /, `${d.where}: prints its usage`);
  }
});

t.test('every tandem command line of the other READMEs is accepted by tandem', async (t) => {
  const documented = READMES.filter((f) => f !== 'deploy/README.md').flatMap(readmeCommands);
  for (const [file, least] of [['server/README.md', 5], ['replicator/README.md', 5], ['replicator/demo/README.md', 3]] as const)
    t.ok(documented.filter((d) => d.where.startsWith(`${file}:`)).length >= least, `${file} documents commands (the check reads it)`);
  const unique = [...new Map(documented.map((d) => [d.argv.join(' '), d])).values()];
  for (const d of unique) {
    const r = await tandemHelp(d.argv);
    t.equal(r.code, 0, `${d.where}: tandem ${d.argv.join(' ')} --help exits 0${r.code ? `\n${r.stderr}` : ''}`);
    t.match(r.stdout, /^Usage: tandem /, `${d.where}: prints its usage`);
  }
});
