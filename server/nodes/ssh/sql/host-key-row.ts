export interface HostKeyRow {
  project: string;
  host: string;
  keyType: string;
  fingerprint: string;
  publicKey: Buffer;
  node: string;
  firstSeenAt: Date;
  firstSeenExecution: string | null;
}

export const HOST_KEY_COLUMNS = `project, host, key_type as "keyType", fingerprint, public_key as "publicKey", node,
  first_seen_at as "firstSeenAt", first_seen_execution as "firstSeenExecution"`;
