/**
 * Log sequence numbers. PostgreSQL prints them as `X/Y` (hex, sometimes
 * zero-padded); we compare and do arithmetic on BigInt, never on strings.
 * When changing this, read replicator/docs/lsn-handling.md.
 */
export type Lsn = bigint & { readonly __brand: 'Lsn' };

export const ZERO_LSN = 0n as Lsn;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return ((BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2])) as Lsn;
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
