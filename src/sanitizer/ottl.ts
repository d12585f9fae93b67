/**
 * Writing OTTL statements into a collector configuration: two layers of escaping.
 * OTTL string literals escape backslashes and double quotes; the collector's config
 * resolver then treats "$" as the start of ${...} expansion, so a literal "$" is "$$".
 */

/**
 * An OTTL string literal. OTTL unquotes literals with Go's strconv.Unquote, which rejects a raw
 * newline, so control characters are written as Go escapes (\n, \r, \t, \xHH).
 */
export function ottlString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[\x00-\x1f\x7f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${escaped}"`;
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Escapes every "$" for the collector's confmap resolver; callers add ${env:...} references after escaping. */
export function escapeForConfmap(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** A string literal holding a regular expression, escaped for both layers. */
export function ottlPattern(pattern: string): string {
  return escapeForConfmap(ottlString(pattern));
}
