/**
 * `executions.runAs: USER`: local steps run as an unprivileged system user
 * instead of the server's own user, so that a step (whatever its author
 * wrote) cannot read the server's configuration, users file, secret files
 * or logs, nor act as the server.
 *
 * How the identity is dropped: the spawn helper starts every step through
 * `setpriv` (util-linux) with the user's uid and primary gid, no
 * supplementary groups, and empty inheritable and ambient capability sets.
 * A server that does not run as root needs CAP_SETUID and CAP_SETGID to
 * switch users (and CAP_KILL to stop the steps, CAP_CHOWN to hand script
 * files over); systemd grants them as *ambient* capabilities, which a plain
 * setuid would pass on to the step across exec. Clearing the ambient and
 * inheritable sets is what leaves the step with none (deploy/systemd).
 *
 * At start-up the server makes its log directories 0700 and refuses to run
 * while a file holding a secret (the config file, the users file, the GCS
 * key, any `TANDEM_*_FILE`) is readable by the step user: file modes are the
 * operator's to set, so they are named with the command that fixes them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, type Stats } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { TandemError } from '../errors.js';

export interface RunAsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Where setpriv is looked for (Debian, RHEL and Alpine's util-linux all install it in one of these). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv'];

export function setprivPath(): string {
  const found = SETPRIV.find((p) => existsSync(p));
  if (!found) throw new TandemError('invalid_config', `executions.runAs needs setpriv (util-linux), not found in ${SETPRIV.join(', ')}`, { field: 'executions.runAs' });
  return found;
}

/**
 * The system user `name` (through NSS, so LDAP/sssd users work too), or a
 * clear configuration error. `UID` or `UID:GID` (digits) need no passwd entry
 * (container images often have none for the step user); HOME is then `/`.
 */
export function resolveRunAs(name: string): RunAsUser {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(name);
  if (numeric) return checked({ name, uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]), home: '/' });
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new TandemError('invalid_config', `executions.runAs: no system user named ${JSON.stringify(name)} (create one, e.g. useradd --system --no-create-home tandem-steps)`, {
      field: 'executions.runAs',
    });
  }
  const [, , uid, gid, , home] = line.split(':');
  const u = { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
  if (!Number.isInteger(u.uid) || !Number.isInteger(u.gid)) throw new TandemError('invalid_config', `executions.runAs: cannot read the ids of ${name} from "${line}"`, { field: 'executions.runAs' });
  return checked(u);
}

function checked(u: RunAsUser): RunAsUser {
  const name = u.name;
  if (u.uid === 0 || u.gid === 0) throw new TandemError('invalid_config', `executions.runAs: ${name} is root (uid or gid 0); name an unprivileged user`, { field: 'executions.runAs' });
  if (typeof process.getuid === 'function' && (u.uid === process.getuid() || u.gid === process.getgid?.())) {
    throw new TandemError('invalid_config', `executions.runAs: ${name} has the server's own uid or gid; steps would read its secrets. Name another user`, { field: 'executions.runAs' });
  }
  return u;
}

/** Whether `user` (its uid, its primary group, or as anybody) may read a file with these owner and mode bits. */
function readableBy(st: Stats, user: RunAsUser): boolean {
  if (st.uid === user.uid) return (st.mode & 0o400) !== 0;
  if (st.gid === user.gid) return (st.mode & 0o040) !== 0;
  return (st.mode & 0o004) !== 0;
}

/** Files whose content is a secret of the server's, by the setting that names them. */
export function secretFiles(config: Config, configFile: string | undefined, env: NodeJS.ProcessEnv): Array<{ what: string; path: string }> {
  const out: Array<{ what: string; path: string }> = [];
  if (configFile) out.push({ what: 'the config file', path: configFile });
  if (config.auth.usersFile) out.push({ what: 'auth.usersFile', path: config.auth.usersFile });
  if (config.gcs.keyFile) out.push({ what: 'gcs.keyFile', path: config.gcs.keyFile });
  for (const [k, v] of Object.entries(env)) if (k.startsWith('TANDEM_') && k.endsWith('_FILE') && v) out.push({ what: k, path: v });
  return out;
}

/**
 * Make the log directories private (0700, created when missing) and check
 * that no secret file is readable by the step user. Throws `invalid_config`
 * naming every such file and the command that fixes it.
 */
export async function protectServerFiles(user: RunAsUser, config: Config, configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const dir of [config.logs.store === 'gcs' ? config.logs.spoolDir : config.logs.dir]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const exposed: string[] = [];
  for (const f of secretFiles(config, configFile, env)) {
    let st: Stats;
    try {
      st = statSync(f.path);
    } catch {
      continue; // a missing file is reported by whatever reads it
    }
    if (readableBy(st, user)) exposed.push(`${f.what} ${f.path} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid})`);
  }
  if (exposed.length) {
    throw new TandemError(
      'invalid_config',
      `executions.runAs: steps run as ${user.name}, who could read: ${exposed.join('; ')}. ` +
        `Make them private to the server's user (chown <server user> FILE && chmod 600 FILE)`,
      { field: 'executions.runAs' },
    );
  }
}
