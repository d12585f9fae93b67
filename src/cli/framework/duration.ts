/**
 * Durations as kubectl and Go write them: 30s, 10m, 1h30m, 7d (and 2w). A bare number is refused
 * rather than guessed: --timeout took seconds and --since minutes before, so "15" is ambiguous.
 */
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, or what is wrong with the text in words that name the fix. */
export function parseDuration(text: string): number | { problem: string } {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return { problem: `a duration needs a unit: ${trimmed}s, ${trimmed}m, ${trimmed}h or ${trimmed}d` };
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    return { problem: 'not a duration; write a number and a unit, e.g. 30s, 10m, 2h, 7d or 1h30m' };
  }
  const total = parts.reduce((sum, part) => sum + Number(part[1]) * UNITS[part[2]!]!, 0);
  if (total <= 0) return { problem: 'a duration must be longer than zero, e.g. 30s' };
  return total;
}

/** 1_800_000 -> "30 minutes", for messages. */
export function durationWords(ms: number): string {
  for (const [unit, size] of [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${Math.round(ms / 1000)} seconds`;
}
