/**
 * Writing OTTL statements into a collector configuration: two layers of escaping.
 * OTTL string literals escape backslashes and double quotes; the collector's config
 * resolver then treats "$" as the start of ${...} expansion, so a literal "$" is "$$".
 */

/** An OTTL string literal. */
export function ottlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Escapes every "$" for the collector's confmap resolver; callers add ${env:...} references after escaping. */
export function escapeForConfmap(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** A string literal holding a regular expression, escaped for both layers. */
export function ottlPattern(pattern: string): string {
  return escapeForConfmap(ottlString(pattern));
}
