/**
 * Every configuration key Tandem understands, with its type, default, flag and
 * description. The environment variable of a key is derived from its path
 * (`auth.ldap.bindDn` → `TANDEM_AUTH_LDAP_BIND_DN`), see load.ts.
 *
 * Add keys here (in the section of the feature that owns them); nothing else
 * reads raw configuration.
 */
import { z } from 'zod';
import { bool, duration, httpUrl, int, list, map, oneOf, pgUrl, port, size, str, type Field } from './fields.js';

export interface SiteEntry {
  databaseUrl: string;
  url: string;
}

const siteEntry: z.ZodType<SiteEntry> = z.object(
  { databaseUrl: pgUrl({ description: '' }).schema, url: httpUrl({ description: '' }).schema },
  { error: 'expected a mapping with databaseUrl and url' },
);

/** The remote execution policy (server/cluster/policy.ts), site-wide and per profile. */
const remotePolicyFields = {
  policy: oneOf(['none', 'random', 'roundRobin', 'preset', 'load'] as const, {
    default: 'none',
    description: 'which member runs an execution: none (the member that took the request), random, roundRobin, preset, load',
  }),
  allowed: list({ default: [], description: 'members that may run executions: self, other, names, /regex/ (empty: all)' }),
  allowedTags: str({ default: '', description: 'members with these tags only (`,` OR, `+` AND), e.g. "linux+prod,win"' }),
  preferredTags: str({ default: '', description: 'among the allowed, prefer members with these tags (`,` OR, `+` AND)' }),
  preset: str({ description: 'policy preset: the member that runs every execution' }),
};

export interface RemoteProfile {
  projects: string[];
  policy: 'none' | 'random' | 'roundRobin' | 'preset' | 'load';
  allowed: string[];
  allowedTags: string;
  preferredTags: string;
  preset?: string | undefined;
}

const remoteProfile: z.ZodType<RemoteProfile> = z.object(
  {
    // Absent and empty are one mistake, with one message.
    projects: z.preprocess((v) => v ?? [], list({ description: '' }).schema.refine((p) => p.length > 0, { error: 'name at least one project' })),
    policy: remotePolicyFields.policy.schema.default('none'),
    allowed: remotePolicyFields.allowed.schema.default([]),
    allowedTags: remotePolicyFields.allowedTags.schema.default(''),
    preferredTags: remotePolicyFields.preferredTags.schema.default(''),
    preset: remotePolicyFields.preset.schema.optional(),
  },
  { error: 'expected a mapping with projects and policy' },
);

export const configSchema = {
  database: {
    url: pgUrl({ flag: '--database-url', secret: true, description: 'PostgreSQL URL of this site\'s database' }),
    poolSize: int({ default: 10, min: 1, max: 200, description: 'connections in the job server\'s pool' }),
  },
  server: {
    host: str({ default: '127.0.0.1', flag: '--host', description: 'address the HTTP server listens on' }),
    port: port({ default: 4440, flag: '--port', description: 'HTTP port' }),
    bodyLimit: size({ default: 1024 * 1024, description: 'largest accepted request body' }),
    trustProxy: bool({ default: false, description: 'trust X-Forwarded-* headers from a load balancer' }),
    drainTimeout: duration({ default: 30_000, description: 'on SIGTERM, how long running executions may take to finish' }),
    memberName: str({ description: 'name of this job-server member (default: hostname:port)' }),
    maxNestingDepth: int({ default: 64, min: 4, max: 1000, description: 'deepest nesting of a JSON or YAML request body (deeper: 400 before parsing)' }),
    maxDocumentNodes: int({ default: 2_000_000, min: 100, description: 'most values in a JSON or YAML request body (more: 400 before parsing)' }),
    maxHeavyRequests: int({
      default: 8,
      min: 1,
      description: 'requests at once per member that list, export, import or read logs; more answer 429 with Retry-After',
    }),
    pageLimit: int({ default: 100, min: 1, max: 1000, description: 'items in a list answer when the request gives no limit' }),
    maxPageLimit: int({ default: 1000, min: 1, description: 'most items a list answer may hold (a larger ?limit= is refused)' }),
    maxLogChunk: size({ default: 1024 * 1024, description: 'most log bytes one output request returns (a larger ?maxBytes= is cut to it)' }),
    url: httpUrl({ description: 'public base URL of this server (e.g. https://tandem.example.com), for the href and permalink of Rundeck API answers (default: the URL the request was sent to)' }),
    tags: list({ default: [], description: 'tags of this member, for the remote execution policy (allowedTags, preferredTags)' }),
  },
  cluster: {
    heartbeatInterval: duration({ default: 1000, description: 'how often a member writes its heartbeat (and looks for dead members)' }),
    inactiveAfter: duration({ default: 3000, description: 'a member without a heartbeat for this long is inactive (gets no new executions)' }),
    deadAfter: duration({ default: 5000, description: 'a member without a heartbeat for this long is dead: its executions are closed and retried elsewhere, its generation fenced' }),
    capacity: int({ default: 10, min: 1, max: 100_000, description: 'executions a member runs at once before the load policy counts it as full (load = running / capacity)' }),
    handoverTimeout: duration({ default: 2000, description: 'an execution handed to another member and not started within this is handed to another one' }),
    remoteExecution: {
      ...remotePolicyFields,
      profiles: map(remoteProfile, { description: 'name → { projects: [..], policy, allowed, allowedTags, preferredTags, preset }: a policy for named projects' }),
    },
  },
  executions: {
    killGrace: duration({ default: 5000, description: 'on abort or timeout, time between SIGTERM and SIGKILL of a step\'s process group' }),
    abortPollInterval: duration({ default: 1000, description: 'how often a member looks for abort requests made through other members' }),
    runAs: str({
      description:
        'run local steps as this unprivileged system user (production setting): they cannot read the server\'s config, users file, secret files or logs (see server/executions/README.md)',
    }),
    path: str({ default: '/usr/local/bin:/usr/bin:/bin', description: 'PATH of local steps (steps get a clean environment, never the server\'s variables)' }),
  },
  nodes: {
    refreshInterval: duration({ default: 30_000, description: 'how often each project\'s node model is read again from its sources in the background (Rundeck project.nodeCache.delay)' }),
    sourcePaths: list({ default: [], description: 'directories that file and script node sources (and file: URLs) may name; empty allows any absolute path' }),
    localNodeName: str({ default: 'localhost', description: 'name of the server\'s own node in every project\'s model (Rundeck framework.server.name, "localhost" by default, so exported filters like "name: localhost" keep working)' }),
  },
  notifications: {
    smtp: {
      host: str({ description: 'SMTP server for e-mail notifications (unset: e-mail notifications are logged as failed, never sent)' }),
      port: port({ default: 25, description: 'SMTP port (587 submission with requireTls, 465 with secure)' }),
      secure: bool({ default: false, description: 'TLS from the first byte (port 465)' }),
      requireTls: bool({ default: false, description: 'refuse to send unless STARTTLS succeeds' }),
      user: str({ description: 'SMTP login (unset: no authentication)' }),
      password: str({ secret: true, description: 'SMTP password' }),
      from: str({ default: 'tandem@localhost', description: 'From: address of notification mails' }),
      timeout: duration({ default: 10_000, description: 'connect, greeting and socket timeout of one delivery' }),
    },
  },
  scheduler: {
    enabled: bool({ default: true, description: 'run the scheduler loop in this member (any number of members may)' }),
    interval: duration({ default: 1000, description: 'how often the scheduler looks for due firings' }),
    misfireGrace: duration({ default: 60_000, description: 'a firing later than this is a misfire (after downtime)' }),
    misfirePolicy: oneOf(['runOnce', 'skip'] as const, { default: 'runOnce', description: 'misfire: run the latest missed firing once now, or skip it' }),
  },
  ui: {
    dir: str({ description: 'directory of the built web UI (default: dist/ui in the checkout, written by `make build`)' }),
  },
  logs: {
    store: oneOf(['filesystem', 'gcs'] as const, { default: 'filesystem', description: 'where execution logs are stored' }),
    dir: str({ default: './var/logs', description: 'directory of the filesystem log store' }),
    spoolDir: str({ default: './var/spool', description: 'local spool for logs waiting to be uploaded' }),
    pathTemplate: str({ default: '${project}/${executionId}.log', description: 'object key template for a log' }),
  },
  gcs: {
    bucket: str({ description: 'bucket for execution logs' }),
    prefix: str({ default: '', description: 'key prefix inside the bucket' }),
    apiEndpoint: str({ description: 'custom JSON API endpoint (emulators)' }),
    projectId: str({ description: 'Google Cloud project id' }),
    keyFile: str({ secret: true, description: 'service-account key file (default: Application Default Credentials)' }),
    checkpointInterval: duration({ default: 1000, description: 'upload a running log at least this often' }),
    checkpointBytes: size({ default: 256 * 1024, description: 'upload a running log after this many new bytes' }),
    appendCheckpoints: bool({ default: true, description: 'checkpoints send only the new bytes (GCS compose) instead of the whole log; off for GCS-compatible stores without compose' }),
    spoolLimit: size({ default: 1024 ** 3, description: 'bound of the local spool (logs not yet uploaded); above it writers are slowed down' }),
    requestTimeout: duration({ default: 30_000, description: 'timeout of one request to the bucket' }),
    retryMaxDelay: duration({ default: 10_000, description: 'longest wait between retries of a failed upload' }),
    uploadConcurrency: int({ default: 8, min: 1, max: 256, description: 'log uploads in flight at once' }),
    useAuthWithCustomEndpoint: bool({ default: false, description: 'send Google credentials to a custom apiEndpoint (off for emulators)' }),
    sourceBucket: str({ description: 'passive sites: the active site\'s log bucket that `tandem replicate` copies log objects from (unset: no object copies)' }),
    sourcePrefix: str({ description: 'key prefix in the source bucket (default: gcs.prefix)' }),
    copyConcurrency: int({ default: 16, min: 1, max: 256, description: 'log object copies in flight at once on a passive site' }),
  },
  auth: {
    usersFile: str({ description: 'local users file (scrypt hashes), the default when no LDAP is configured' }),
    aclDir: str({ description: 'directory of *.aclpolicy files' }),
    sessionIdleTimeout: duration({ default: 30 * 60_000, description: 'session idle expiry' }),
    sessionAbsoluteTimeout: duration({ default: 12 * 3_600_000, description: 'session absolute expiry' }),
    throttle: {
      maxFailuresPerUserAddress: int({ default: 5, min: 1, description: 'failed logins of one user name from one client address before attempts from there are refused for a while' }),
      maxFailuresPerAddress: int({ default: 20, min: 1, description: 'failed logins from one client address (any user) before its attempts are refused for a while' }),
      maxFailuresPerUser: int({
        default: 100,
        min: 1,
        description: 'failed logins of one user name from anywhere before each further attempt is slowed down (never refused: a correct password from a clean address still logs in)',
      }),
      userSlowDown: duration({ default: 2000, description: 'delay added to each login attempt of a user name over maxFailuresPerUser' }),
      window: duration({ default: 15 * 60_000, description: 'failures older than this (and no longer blocking) are forgotten' }),
      baseDelay: duration({ default: 30_000, description: 'first delay once the limit is reached; doubles with each further failure' }),
      maxDelay: duration({ default: 15 * 60_000, description: 'longest delay, so nobody is locked out for good' }),
    },
    ldap: {
      urls: list({ description: 'LDAP server URLs, tried in order' }),
      bindDn: str({ description: 'service account DN' }),
      bindPassword: str({ secret: true, description: 'service account password' }),
      userBase: str({ description: 'search base for users' }),
      userFilter: str({ default: '(uid={username})', description: 'user search filter template' }),
      groupBase: str({ description: 'search base for groups' }),
      groupFilter: str({
        default: '(|(member={dn})(uniqueMember={dn})(memberUid={username}))',
        description: 'group search filter template ({dn}, {username})',
      }),
      nestedGroups: bool({ default: false, description: 'follow groups that are members of groups' }),
      roleMap: str({ default: '', description: 'group=role,group=role' }),
      supplementalRoles: list({ default: [], description: 'roles every authenticated user gets' }),
      timeoutMs: int({ default: 5000, min: 1, description: 'connect and operation timeout' }),
      caFile: str({ description: 'CA bundle for ldaps:// and StartTLS' }),
      startTls: bool({ default: false, description: 'upgrade ldap:// connections with StartTLS' }),
    },
  },
  keyStorage: {
    masterKey: str({
      secret: true,
      pattern: /^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/,
      patternHint: 'expected 32 random bytes as base64 (44 characters) or hex (64 characters), e.g. from "openssl rand -base64 32"',
      description: 'AES-256-GCM master key of Key Storage (set it with TANDEM_KEY_STORAGE_MASTER_KEY_FILE); the same on every site',
    }),
    previousMasterKeys: list({
      secret: true,
      default: [],
      description: 'older master keys still accepted for reading while `tandem keys rotate` re-encrypts under keyStorage.masterKey',
    }),
  },
  ssh: {
    hostKeyPolicy: oneOf(['strict', 'accept-new'] as const, {
      default: 'accept-new',
      description: 'host key check when neither the node nor the project sets ssh-host-key-policy: strict (must be known) or accept-new (first key recorded, a changed key refused)',
    }),
    connectTimeout: duration({ default: 30_000, description: 'connect timeout when the node sets no ssh-connect-timeout (0: none)' }),
    idleTimeout: duration({ default: 5000, description: 'how long an SSH connection is kept warm for the next step on the same node and user' }),
  },
  site: str({ description: 'name of this site (a key of `sites`)' }),
  sites: map(siteEntry, { description: 'every site: name → { databaseUrl, url }' }),
  failover: {
    checkInterval: duration({ default: 2000, description: 'how often a job server compares its epoch with its peers\' (a higher epoch elsewhere fences this site)' }),
    drainTimeout: duration({ default: 60_000, flag: '--drain-timeout', description: 'planned switchover: how long running executions may take to finish before they are aborted' }),
    catchUpTimeout: duration({ default: 120_000, flag: '--catch-up-timeout', description: 'planned switchover: how long to wait for the target to apply everything up to the drain point' }),
    sequenceMargin: int({ default: 1000, min: 1, description: 'forced failover: how far past the largest value in its column each sequence is moved' }),
  },
  replication: {
    source: pgUrl({ flag: '--source', secret: true, description: 'active site database URL' }),
    target: pgUrl({ flag: '--target', secret: true, description: 'this (passive) site database URL' }),
    schemas: list({ default: ['tandem'], description: 'schemas to replicate' }),
    slot: str({ flag: '--slot', description: 'replication slot name (default: derived from the target site)' }),
    publication: str({ flag: '--publication', default: 'tandem_pub', description: 'publication name on the source' }),
    applicationName: str({ flag: '--application-name', description: 'application_name (for synchronous_standby_names)' }),
    walWarnBytes: size({ default: 1024 ** 3, description: 'warn when the slot retains more WAL than this' }),
    sequenceSyncInterval: duration({ default: 10_000, description: 'how often sequence values are copied' }),
    binary: bool({
      description:
        'binary transfer: values travel in their types\' binary format (default true: less CPU; a source type must exist on the target); false: as text (`tandem replicate --text`)',
    }),
    scheduling: oneOf(['batch', 'normal'] as const, {
      default: 'batch',
      description:
        'Linux CPU scheduling policy of `tandem replicate`: batch (SCHED_BATCH: same CPU share, but its wake-ups do not preempt the databases it feeds, which on a shared host makes catch-ups faster) or normal',
    }),
  },
  log: {
    level: oneOf(['debug', 'info', 'warn', 'error'] as const, { default: 'info', flag: '--log-level', description: 'log level' }),
    format: oneOf(['auto', 'json', 'pretty'] as const, { default: 'auto', description: 'log line format' }),
  },
  metrics: {
    // The job server serves GET /metrics on its own HTTP port; these are for `tandem replicate`.
    port: port({ flag: '--metrics-port', description: 'tandem replicate: serve GET /metrics on this port (absent: no metrics listener; 0 picks a free port)' }),
    host: str({ default: '127.0.0.1', flag: '--metrics-host', description: 'tandem replicate: address of the metrics listener (0.0.0.0 for a scraper on another host)' }),
  },
} as const;

export type Schema = typeof configSchema;

type Infer<S> = S extends Field<infer T>
  ? T
  : { -readonly [K in keyof S]: S[K] extends Field<infer T> ? (S[K] extends { default: unknown } ? T : T | undefined) : Infer<S[K]> };

/** The validated configuration, as every module receives it. */
export type Config = Infer<Schema>;
