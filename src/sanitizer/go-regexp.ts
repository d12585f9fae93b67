/**
 * The parts of Go's regexp package the collector's OTTL functions use, reproduced on re2js
 * (a port of Go's regexp, so matching, leftmost-first semantics and successive-match rules
 * are the same): MatchString, FindAllStringSubmatchIndex, ReplaceAllString and
 * Regexp.ExpandString with its `$name` / `${name}` / `$$` template rules.
 *
 * Offsets are UTF-16 indices where Go's are UTF-8 byte offsets; both delimit the same
 * characters, so the resulting strings are identical.
 */
import { RE2JS } from 're2js';

export class GoRegexp {
  readonly source: string;
  private readonly re: RE2JS;
  /** Group name -> index, as Go's SubexpNames. */
  private readonly names: ReadonlyMap<string, number>;

  constructor(pattern: string) {
    this.source = pattern;
    this.re = RE2JS.compile(pattern);
    this.names = new Map(Object.entries(this.re.namedGroups()));
  }

  /** regexp.MatchString: is there a match anywhere. */
  matchString(text: string): boolean {
    return this.re.test(text);
  }

  /** regexp.FindAllStringSubmatchIndex(text, -1): for each successive match, [start, end, group1 start, group1 end, ...], -1 where a group did not take part. */
  findAllSubmatchIndex(text: string): number[][] {
    return (this.re.re2Input.findAllSubmatchIndex(text, -1) as number[][] | null) ?? [];
  }

  /** regexp.ReplaceAllString: every match replaced by `template` expanded against it. */
  replaceAllString(text: string, template: string): string {
    return this.replaceAllFunc(text, (match) => this.expandString(template, text, match));
  }

  /** Every match replaced by what `replacement` returns for it (OTTL's replace with a function). */
  replaceAllFunc(text: string, replacement: (match: number[]) => string): string {
    let out = '';
    let last = 0;
    for (const match of this.findAllSubmatchIndex(text)) {
      out += text.slice(last, match[0]) + replacement(match);
      last = match[1]!;
    }
    return out + text.slice(last);
  }

  /**
   * Regexp.ExpandString: `$name` and `${name}` become the text of the group (number or
   * name; empty when the group did not take part or does not exist), `$$` is a literal "$",
   * and a "$" not followed by a valid reference is kept as is. In `$name` the name is the
   * longest run of letters, digits and "_", so `$1x` refers to a group named "1x".
   */
  expandString(template: string, text: string, match: readonly number[]): string {
    let out = '';
    let rest = template;
    for (;;) {
      const dollar = rest.indexOf('$');
      if (dollar < 0) break;
      out += rest.slice(0, dollar);
      rest = rest.slice(dollar + 1);
      if (rest.startsWith('$')) {
        out += '$';
        rest = rest.slice(1);
        continue;
      }
      const reference = extractReference(rest);
      if (!reference) {
        out += '$';
        continue;
      }
      rest = reference.rest;
      const index = reference.number ?? this.names.get(reference.name);
      if (index !== undefined && 2 * index + 1 < match.length && match[2 * index]! >= 0) {
        out += text.slice(match[2 * index], match[2 * index + 1]);
      }
    }
    return out + rest;
  }
}

const NAME_CHARACTER = /[\p{L}\p{Nd}_]/u;

/** Go's regexp `extract`: the reference after a "$", or undefined when malformed. */
function extractReference(text: string): { name: string; number: number | undefined; rest: string } | undefined {
  const brace = text.startsWith('{');
  let position = brace ? 1 : 0;
  const start = position;
  for (const character of text.slice(start)) {
    if (!NAME_CHARACTER.test(character)) break;
    position += character.length;
  }
  if (position === start) return undefined;
  const name = text.slice(start, position);
  if (brace) {
    if (text[position] !== '}') return undefined;
    position += 1;
  }
  // A number only when all ASCII digits, at most nine (Go stops at 1e8 before the next
  // digit) and without a leading zero; otherwise a name.
  const isNumber = /^[0-9]{1,9}$/.test(name) && !(name.length > 1 && name.startsWith('0'));
  return { name, number: isNumber ? Number(name) : undefined, rest: text.slice(position) };
}
