/** The `ssh` node executor as the job server builds it from its configuration (composition root: server/app/job-server.ts). */
import type pg from 'pg';
import type { Config } from '../../config/schema.js';
import type { KeyStorage } from '../../keys/key-storage.js';
import type { Logger } from '../../log.js';
import type { HostKeys } from './host-keys.js';
import { getProjectSshSettings } from './sql/get-project-ssh-settings.js';
import { SshNodeExecutor } from './ssh-node-executor.js';

export function createSshNodeExecutor(o: { pool: pg.Pool; config: Config; log: Logger; keys: KeyStorage; hostKeys: HostKeys }): SshNodeExecutor {
  return new SshNodeExecutor({
    keys: o.keys,
    hostKeys: o.hostKeys,
    log: o.log,
    defaults: { hostKeyPolicy: o.config.ssh.hostKeyPolicy, connectTimeout: o.config.ssh.connectTimeout },
    idleTimeoutMs: o.config.ssh.idleTimeout,
    killGraceMs: o.config.executions.killGrace,
    projectSettings: (project) => getProjectSshSettings(o.pool, project),
  });
}
