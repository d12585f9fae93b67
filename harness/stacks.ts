import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { TelemetryStack } from '../src/api/resource.ts';
import { validateStack } from '../src/api/validate.ts';

export const ROOT = join(import.meta.dirname, '..');
export const EXAMPLES_DIR = join(ROOT, 'examples');

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
}

export function loadExample(file: string): unknown {
  return parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
}

/** A validated stack from a bare spec; fails the test with the problems if it is invalid. */
export function stackFrom(spec: unknown, name = 'telemetry', namespace = 'team'): TelemetryStack {
  const result = validateStack(spec, { name, namespace });
  if (!result.ok) throw new Error(`invalid spec in test: ${JSON.stringify(result.problems)}`);
  return result.stack;
}
