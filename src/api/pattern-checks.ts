/**
 * What makes a sanitizer pattern unusable though RE2 compiles it: a lone UTF-16 surrogate
 * (the ConfigMap is UTF-8, so it cannot be written, and the YAML would not be the pattern), and a
 * pattern that can match an empty string somewhere. The second is not just `x*`: `\b`, `^` or
 * `(a|\b)` match no characters at positions inside ordinary values, and the collector's
 * replace_all_patterns then writes the marker between characters of every value it touches.
 */
import { RE2JS } from 're2js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * The pattern with every zero-width assertion (^ $ \b \B \A \z) replaced by an empty group.
 * Such an assertion holds at some position of some value, and nothing else in RE2 looks past the
 * characters a match consumes, so the pattern can match empty somewhere exactly when this one
 * matches the empty string. Character classes, \Q...\E and \p{...} are copied as they are.
 */
export function withoutAssertions(pattern: string): string {
  let out = '';
  let i = 0;
  const copyThrough = (end: string) => {
    const close = pattern.indexOf(end, i);
    const stop = close < 0 ? pattern.length : close + end.length;
    out += pattern.slice(i, stop);
    i = stop;
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if ('bBAz'.includes(next) && next !== '') {
        out += '(?:)';
        i += 2;
      } else if (next === 'Q') {
        copyThrough('\\E');
      } else if ((next === 'p' || next === 'P' || next === 'x') && pattern[i + 2] === '{') {
        copyThrough('}');
      } else {
        out += pattern.slice(i, i + 2);
        i += 2;
      }
    } else if (c === '[') {
      // A class: a "]" right after "[" or "[^" is a literal, "[:alpha:]" nests, "\" escapes.
      let j = i + 1;
      if (pattern[j] === '^') j += 1;
      if (pattern[j] === ']') j += 1;
      while (j < pattern.length && pattern[j] !== ']') {
        if (pattern[j] === '\\') j += 2;
        else if (pattern.startsWith('[:', j)) {
          const close = pattern.indexOf(':]', j + 2);
          j = close < 0 ? j + 1 : close + 2;
        } else j += 1;
      }
      out += pattern.slice(i, j + 1);
      i = j + 1;
    } else if (c === '^' || c === '$') {
      out += '(?:)';
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Whether the (valid RE2) pattern can match an empty string at some position of some value. */
export function canMatchEmpty(pattern: string): boolean {
  try {
    return RE2JS.compile(withoutAssertions(pattern)).matches('');
  } catch {
    // Not expected for a pattern RE2 accepts; fall back to the plain check.
    return RE2JS.compile(pattern).matches('');
  }
}
