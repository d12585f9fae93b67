import { expect } from 'vitest';
import { validateStack } from '../../src/api/validate.ts';

/** Asserts that `spec` is refused with a problem at exactly `path` whose message matches `message`. */
export function expectRefusedAt(spec: unknown, path: string, message: RegExp): void {
  const result = validateStack(spec);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  const atPath = result.problems.filter((problem) => problem.path === path);
  expect(atPath, `problems: ${JSON.stringify(result.problems)}`).not.toHaveLength(0);
  expect(atPath.map((problem) => problem.message).join(' | ')).toMatch(message);
}
