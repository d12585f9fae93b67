/**
 * Writing OTTL statements: string literals. The second layer, the collector's config resolver
 * that reads "$" as the start of ${...}, is handled once for the whole configuration by
 * confmap.ts, so the statements here are plain text.
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
