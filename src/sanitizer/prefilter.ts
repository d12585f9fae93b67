/**
 * Required literals of an RE2 pattern: short lists of strings such that every match of the
 * pattern contains at least one string of each list. A value that misses a list cannot match,
 * so the rule need not run on it: the collector skips its statements unless the record's text
 * holds them (compile.ts, IsMatch of each literal), the preview skips the step for a value an
 * Aho-Corasick scan of every literal finds none in (preview.ts).
 *
 * The analysis must be sound, never clever: a guard that skips a rule on a value the rule
 * would have changed leaks a secret. So it reads the pattern with its own small parser of
 * RE2's syntax and, wherever it is unsure (an escape it does not know, a character outside
 * ASCII, a class it cannot list), treats that piece as "any text", which only ever makes the
 * guard weaker. A pattern it cannot read at all gets no guard (the rule always runs).
 *
 * Case-insensitive pieces ((?i)) give folded literals, compared against the value folded the
 * same way: upper(lower(text)), which maps every member of an ASCII letter's case-folding orbit
 * (including the Kelvin sign and the long s, which Go's (?i) also matches) to the ASCII upper
 * case letter. Folded literals hold ASCII characters only, so that holds for every character.
 */

/** One literal of a guard; `folded` ones are written folded and compared with a folded text. */
export interface Literal {
  readonly text: string;
  readonly folded: boolean;
}

/**
 * Every match of the pattern holds, for each clause, one of its literals (a conjunction of
 * disjunctions, strongest clause first; never empty).
 */
export interface Guard {
  readonly clauses: readonly (readonly Literal[])[];
}

/** The text a folded literal is compared with (Go: strings.ToUpper(strings.ToLower(s))). */
export function foldText(text: string): string {
  return text.toLowerCase().toUpperCase();
}

/** Whether `text` satisfies the guard: holds a literal of each clause (no guard: always). */
export function guardPasses(guard: Guard | undefined, text: string): boolean {
  if (!guard) return true;
  let folded: string | undefined;
  return guard.clauses.every((clause) => clause.some((literal) => (literal.folded ? (folded ??= foldText(text)) : text).includes(literal.text)));
}

/** The guard of `pattern`, or undefined when no literal is required (or the pattern is not understood). */
export function requiredLiterals(pattern: string): Guard | undefined {
  // A render asks for each rule per field and context, and the operator renders on every reconcile.
  if (analysed.has(pattern)) return analysed.get(pattern);
  let guard: Guard | undefined;
  try {
    const clauses = requirement(new Parser(pattern).parse());
    guard = clauses === undefined ? undefined : { clauses };
  } catch {
    guard = undefined;
  }
  if (analysed.size >= 1024) analysed.clear();
  analysed.set(pattern, guard);
  return guard;
}

const analysed = new Map<string, Guard | undefined>();

// ------------------------------------------------------------------ analysis

/** Exact sets larger than this become requirements instead (bounds the work and the guard's size). */
const MAX_EXACT = 16;
/** A clause with more literals than this costs more to check than it saves (the collector checks each one). */
const MAX_LITERALS = 64;
/** Clauses kept per requirement, strongest first (later ones are read only when the first ones hold). */
const MAX_CLAUSES = 3;

type Clause = readonly Literal[];

/**
 * What a piece of a pattern can match: `exact`, when known, is every string it can match;
 * `required`, when known, is clauses each of which every match satisfies (holds one of its
 * literals). Both undefined: the piece can match anything (as far as this analysis knows).
 */
interface Info {
  readonly exact?: readonly Literal[];
  readonly required?: readonly Clause[];
}

const ANYTHING: Info = {};
const EMPTY: Info = { exact: [{ text: '', folded: false }] };

function literal(text: string, folded: boolean): Literal {
  return { text: folded ? foldText(text) : text, folded };
}

function concatLiterals(a: Literal, b: Literal): Literal {
  const folded = a.folded || b.folded;
  // Folding a case-sensitive part only weakens it: a text that contains it contains it folded.
  return { text: folded ? foldText(a.text) + foldText(b.text) : a.text + b.text, folded };
}

const key = (l: Literal) => `${l.folded ? 'f' : 'p'}${l.text}`;

function dedupe(literals: readonly Literal[]): Literal[] {
  return [...new Map(literals.map((l) => [key(l), l])).values()];
}

/** Drops a literal when a shorter one in the list is found wherever it is (a folded one matches a plain one's folded text). */
function minimal(literals: readonly Literal[]): Literal[] {
  const covers = (small: Literal, big: Literal) => (small.folded ? foldText(big.text).includes(small.text) : !big.folded && big.text.includes(small.text));
  const kept: Literal[] = [];
  for (const literal of [...dedupe(literals)].sort((a, b) => a.text.length - b.text.length || Number(b.folded) - Number(a.folded))) {
    if (!kept.some((small) => covers(small, literal))) kept.push(literal);
  }
  return kept;
}

/** A clause from literals one of which every match holds, or undefined (the empty string among them, or too many). */
function clause(literals: readonly Literal[]): Clause | undefined {
  if (literals.length === 0 || literals.some((l) => l.text === '')) return undefined;
  const reduced = minimal(literals);
  return reduced.length <= MAX_LITERALS ? reduced : undefined;
}

/** The clauses an Info gives (strongest first), or undefined. */
function requirement(info: Info): readonly Clause[] | undefined {
  if (info.exact) {
    const only = clause(info.exact);
    return only ? [only] : undefined;
  }
  return info.required;
}

/**
 * Higher is a better clause. A short literal turns up by chance in most records (a
 * one-character one in nearly all), so it costs the rule's full run; each literal costs one check.
 */
function score(literals: Clause): number {
  const weakness = (length: number) => [24, 24, 6, 2, 1, 0.5][length] ?? 0;
  return -literals.reduce((sum, literal) => sum + weakness(literal.text.length) + 0.25, 0) + Math.min(...literals.map((l) => l.text.length)) / 100;
}

/** Whether every text satisfying clause `a` satisfies clause `b` (then `b` adds nothing next to `a`). */
function implies(a: Clause, b: Clause): boolean {
  return a.every((big) => b.some((small) => (small.folded ? foldText(big.text).includes(small.text) : !big.folded && big.text.includes(small.text))));
}

/**
 * The strongest clauses, strongest first, without one another implies. A clause of
 * one-character literals ("." or "@") is kept only alone: next to a stronger one it rejects
 * almost nothing and costs a check.
 */
function strongest(clauses: readonly (Clause | undefined)[]): Info {
  const sorted = clauses.filter((c): c is Clause => c !== undefined).sort((a, b) => score(b) - score(a));
  const kept: Clause[] = [];
  for (const c of sorted) {
    if (kept.length >= MAX_CLAUSES) break;
    if (kept.some((k) => implies(k, c))) continue;
    if (kept.length > 0 && c.some((l) => l.text.length <= 1)) continue;
    kept.push(c);
  }
  const needed = kept.filter((c, i) => !kept.some((other, j) => j !== i && implies(other, c) && !(implies(c, other) && j > i)));
  return needed.length > 0 ? { required: needed } : ANYTHING;
}

function concatInfo(parts: readonly Info[]): Info {
  // Every clause any part requires holds for the whole; so does every run of consecutive exact
  // parts (the match holds one of the run's strings, contiguous) and any part of a run alone
  // ("gl" of gl(?:pat|dt|...)- is one check where the whole run is fourteen).
  const candidates: (Clause | undefined)[] = [];
  let run: Literal[] = [{ text: '', folded: false }];
  let allExact = true;
  for (const part of parts) {
    candidates.push(clause(run));
    if (part.exact) {
      candidates.push(clause(part.exact));
      if (run.length * part.exact.length <= MAX_EXACT) {
        run = run.flatMap((a) => part.exact!.map((b) => concatLiterals(a, b)));
        continue;
      }
      allExact = false;
      run = [...part.exact];
      continue;
    }
    allExact = false;
    candidates.push(...(part.required ?? []));
    run = [{ text: '', folded: false }];
  }
  if (allExact) return { exact: dedupe(run) };
  candidates.push(clause(run));
  return strongest(candidates);
}

function alternateInfo(branches: readonly Info[]): Info {
  if (branches.every((b) => b.exact)) {
    const union = dedupe(branches.flatMap((b) => b.exact!));
    if (union.length <= MAX_EXACT) return { exact: union };
  }
  const requirements: (readonly Clause[])[] = [];
  for (const branch of branches) {
    const clauses = requirement(branch);
    if (!clauses) return ANYTHING;
    requirements.push(clauses);
  }
  // A match matches one branch, so it holds a literal of any one clause taken from each branch:
  // every such union is a clause. All combinations when they are few, else the strongest ones.
  const combinations = requirements.reduce((n, clauses) => n * clauses.length, 1);
  const picks: (readonly Clause[])[] =
    combinations <= MAX_CLAUSES + 1 ? requirements.reduce<Clause[][]>((acc, clauses) => acc.flatMap((pick) => clauses.map((c) => [...pick, c])), [[]]) : [requirements.map((clauses) => clauses[0]!)];
  return strongest(picks.map((pick) => clause(pick.flat())));
}

function repeatInfo(child: Info, min: number, max: number): Info {
  if (min === 0) {
    // x? is x or nothing; x* and x{0,n} may match nothing, so they require nothing.
    if (max === 1 && child.exact && child.exact.length < MAX_EXACT) return { exact: dedupe([{ text: '', folded: false }, ...child.exact]) };
    return ANYTHING;
  }
  if (min === 1 && max === 1) return child;
  // At least one copy: whatever one copy requires.
  const clauses = requirement(child);
  return clauses ? { required: clauses } : ANYTHING;
}

// ------------------------------------------------------------------ parser

const ESCAPED_CONTROLS: Record<string, string> = { a: '\x07', f: '\f', t: '\t', n: '\n', r: '\r', v: '\v' };
/** Escapes of one character class (\d \pL ...) or of an assertion of no width. */
const CLASS_ESCAPES = new Set(['d', 'D', 's', 'S', 'w', 'W']);
const ASSERTION_ESCAPES = new Set(['b', 'B', 'A', 'z']);

/**
 * A recursive-descent reader of Go's regexp/syntax (Perl flags). It only has to find the
 * structure (alternation, groups, repetition) exactly; every atom that is not a plain
 * ASCII character is "one character, unknown". Anything unexpected throws (no guard).
 */
class Parser {
  private pos = 0;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  parse(): Info {
    const info = this.alternation(false);
    if (this.pos !== this.source.length) throw new Error(`unexpected ${this.source[this.pos]} at ${this.pos}`);
    return info;
  }

  private peek(offset = 0): string | undefined {
    return this.source[this.pos + offset];
  }

  /** branches separated by "|", up to ")" or the end; `fold` is the (?i) state on entry. */
  private alternation(fold: boolean): Info {
    const branches: Info[] = [];
    const state = { fold };
    for (;;) {
      branches.push(this.concatenation(state));
      if (this.peek() === '|') {
        this.pos += 1;
        continue;
      }
      break;
    }
    return branches.length === 1 ? branches[0]! : alternateInfo(branches);
  }

  /** A flag group (?i) changes `state` for the rest of the enclosing group, across "|" too. */
  private concatenation(state: { fold: boolean }): Info {
    const parts: Info[] = [];
    while (this.pos < this.source.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.atom(state);
      if (atom === undefined) continue;
      parts.push(this.repetitions(atom));
    }
    return parts.length === 1 ? parts[0]! : concatInfo(parts);
  }

  /** Any repetition operators after an atom (Go refuses stacked ones, but be general). */
  private repetitions(atom: Info): Info {
    let info = atom;
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*' || c === '+' || c === '?') {
        this.pos += 1;
        [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
      } else if (c === '{') {
        const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.pos));
        // Not a repetition: "{" is then a literal, read by atom().
        if (!match) return info;
        this.pos += match[0].length;
        min = Number(match[1]);
        max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      } else {
        return info;
      }
      if (this.peek() === '?') this.pos += 1; // non-greedy: same strings
      info = repeatInfo(info, min, max);
    }
  }

  /** One atom; undefined for a flag group that only changed `state`. */
  private atom(state: { fold: boolean }): Info | undefined {
    const c = this.peek()!;
    switch (c) {
      case '(':
        return this.group(state);
      case '[':
        return this.charClass(state.fold);
      case '.':
        this.pos += 1;
        return ANYTHING;
      case '^':
      case '$':
        this.pos += 1;
        return EMPTY;
      case '\\':
        return this.escape(state.fold);
      case '*':
      case '+':
      case '?':
        throw new Error('repetition without an operand');
      default: {
        const codePoint = this.source.codePointAt(this.pos)!;
        this.pos += codePoint > 0xffff ? 2 : 1;
        return this.character(String.fromCodePoint(codePoint), state.fold);
      }
    }
  }

  /** A literal character: ASCII only (anything else is one unknown character). */
  private character(ch: string, fold: boolean): Info {
    if (ch.length !== 1 || ch.charCodeAt(0) > 0x7f) return ANYTHING;
    return { exact: [literal(ch, fold && /[A-Za-z]/.test(ch))] };
  }

  private group(state: { fold: boolean }): Info | undefined {
    this.pos += 1; // (
    let fold = state.fold;
    if (this.peek() === '?') {
      const rest = this.source.slice(this.pos);
      const named = /^\?P?<[A-Za-z0-9_]+>/.exec(rest);
      if (named) {
        this.pos += named[0].length;
      } else {
        const flags = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!flags) throw new Error(`unknown group at ${this.pos}`);
        this.pos += flags[0].length;
        if (flags[1]!.includes('i')) fold = true;
        if (flags[2]?.includes('i')) fold = false;
        if (flags[3] === ')') {
          // (?i): for the rest of the enclosing group.
          state.fold = fold;
          return undefined;
        }
      }
    }
    const inner = this.alternation(fold);
    if (this.peek() !== ')') throw new Error('missing )');
    this.pos += 1;
    return inner;
  }

  /**
   * [...]: one character. A class of only ASCII letters and digits (no range, no negation),
   * such as [pousr], is listed exactly; every other class is one unknown character.
   */
  private charClass(fold: boolean): Info {
    const start = this.pos;
    this.pos += 1;
    const negated = this.peek() === '^';
    if (negated) this.pos += 1;
    // A "]" first is a literal.
    if (this.peek() === ']') this.pos += 1;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Error('missing ]');
      if (c === ']') break;
      if (c === '[' && this.peek(1) === ':') {
        const end = this.source.indexOf(':]', this.pos + 2);
        if (end < 0) throw new Error('bad [:class:]');
        this.pos = end + 2;
        continue;
      }
      if (c === '\\') {
        this.skipEscape();
        continue;
      }
      this.pos += 1;
    }
    const body = this.source.slice(start + 1, this.pos);
    this.pos += 1; // ]
    if (!negated && /^[A-Za-z0-9]{1,8}$/.test(body)) {
      return { exact: dedupe([...body].map((ch) => literal(ch, fold && /[A-Za-z]/.test(ch)))) };
    }
    return ANYTHING;
  }

  /** Moves past one escape inside a class. */
  private skipEscape(): void {
    const next = this.peek(1);
    if (next === undefined) throw new Error('trailing \\');
    const rest = this.source.slice(this.pos);
    const long = /^\\(?:[pP]\{[^}]*\}|[pP].|x\{[0-9A-Fa-f]+\}|x[0-9A-Fa-f]{2}|[0-7]{1,3})/.exec(rest);
    this.pos += long ? long[0].length : 2;
  }

  private escape(fold: boolean): Info {
    const next = this.peek(1);
    if (next === undefined) throw new Error('trailing \\');
    if (next === 'Q') {
      // \Q...\E: literal text.
      const end = this.source.indexOf('\\E', this.pos + 2);
      const text = this.source.slice(this.pos + 2, end < 0 ? undefined : end);
      this.pos = end < 0 ? this.source.length : end + 2;
      return concatInfo([...text].map((ch) => this.character(ch, fold)));
    }
    if (ASSERTION_ESCAPES.has(next)) {
      this.pos += 2;
      return EMPTY;
    }
    if (CLASS_ESCAPES.has(next) || next === 'p' || next === 'P' || next === 'x' || next === 'C' || /[0-7]/.test(next)) {
      this.skipEscape();
      return ANYTHING;
    }
    if (ESCAPED_CONTROLS[next] !== undefined) {
      this.pos += 2;
      return this.character(ESCAPED_CONTROLS[next]!, fold);
    }
    // Go allows escaping punctuation only; a letter or digit here is an escape we do not know.
    if (/[A-Za-z0-9]/.test(next) || next.charCodeAt(0) > 0x7f) throw new Error(`unknown escape \\${next}`);
    this.pos += 2;
    return this.character(next, fold);
  }
}
