/**
 * `--set path=value` overrides, as in `helm template --set`. Paths are relative to the
 * spec (a leading "spec." is accepted); values are parsed as YAML scalars or flow
 * collections, so `retention.eventsDays=30` sets a number and `sanitizer.disabledPresets=[jwts]` a list.
 */
import { parse } from 'yaml';
import { UserError } from '../framework/io.ts';

type Segment = string | number;

export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = 0;
  for (const match of path.matchAll(pattern)) {
    const between = path.slice(consumed, match.index);
    if (between !== '' && between !== '.') throw new UserError(`--set ${path}: cannot parse the path near "${between}"`);
    segments.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
    consumed = match.index + match[0].length;
  }
  if (consumed !== path.length || segments.length === 0) {
    throw new UserError(`--set ${path}: expected a path such as retention.eventsDays or access.users[0].role`);
  }
  return segments[0] === 'spec' ? segments.slice(1) : segments;
}

export function applySet(spec: Record<string, unknown>, assignment: string): void {
  const equals = assignment.indexOf('=');
  if (equals <= 0) throw new UserError(`--set ${assignment}: expected path=value, e.g. --set retention.eventsDays=30`);
  const path = parsePath(assignment.slice(0, equals));
  const raw = assignment.slice(equals + 1);
  let value: unknown;
  try {
    value = raw === '' ? '' : parse(raw);
  } catch {
    value = raw;
  }
  let node: Record<string | number, unknown> = spec;
  path.forEach((segment, index) => {
    const last = index === path.length - 1;
    if (last) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (next === undefined || next === null) {
      node[segment] = typeof path[index + 1] === 'number' ? [] : {};
    } else if (typeof next !== 'object') {
      throw new UserError(`--set ${assignment}: ${path.slice(0, index + 1).join('.')} is a ${typeof next}, not an object or list`);
    }
    node = node[segment] as Record<string | number, unknown>;
  });
}
