/**
 * Rundeck's duration strings, used by `timeout` and `retry.delay`: a bare
 * number of seconds ("300") or units combined ("1h30m", "2d", "90s", "1h 5m").
 */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, or null when `text` is not a duration. */
export function parseDuration(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!/^(\d+\s*[smhdw]\s*)+$/.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(/(\d+)\s*([smhdw])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** `5_400_000` → `"1h30m"`; whole seconds, rounded up. */
export function formatDuration(ms: number): string {
  let rest = Math.ceil(ms / 1000);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
