/** "Did you mean": the nearest known name to a mistyped one, if it is near enough to be a typo. */

/** Edit distance with adjacent transpositions (optimal string alignment), so "sytnh" is 1 from "synth". */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates a mistyped name probably meant: the nearest one when within a third of its
 * length (at least 1, at most 3 edits); else the only one it is the start of; else those holding
 * each of its words ("aws-keys": "aws-access-key-ids", "aws-secret-keys"), at most three.
 */
export function nearest(given: string, candidates: readonly string[]): string[] {
  const lower = given.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(given.length / 3)));
  if (best !== undefined && bestDistance > 0 && bestDistance <= limit) return [best];
  const prefixed = candidates.filter((candidate) => lower.length >= 3 && candidate.toLowerCase().startsWith(lower));
  if (prefixed.length === 1) return prefixed;
  const words = lower.split(/[-_.]/).filter((word) => word.length >= 2);
  if (words.length < 2) return [];
  const holding = candidates.filter((candidate) => {
    const theirs = candidate.toLowerCase().split(/[-_.]/);
    return words.every((word) => theirs.some((their) => their.startsWith(word) || word.startsWith(their)));
  });
  return holding.length <= 3 ? holding : [];
}

/** The nearest candidate as a single answer, for callers that name one thing. */
export function didYouMean(given: string, candidates: readonly string[]): string | undefined {
  const found = nearest(given, candidates);
  return found.length === 1 ? found[0] : undefined;
}

/** `; did you mean "a" or "b"?`, or '' when nothing is near. */
export function hint(given: string, candidates: readonly string[]): string {
  const found = nearest(given, candidates);
  return found.length === 0 ? '' : `; did you mean ${found.map((name) => `"${name}"`).join(' or ')}?`;
}
