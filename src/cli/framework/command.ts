/**
 * The command framework: each command is declared once (its options with their types, defaults
 * and help, its operands), and its `--help` text, its argument parsing with one-line errors,
 * and the shell completion (completion.ts) are all derived from that declaration.
 *
 * Built on node:util parseArgs rather than a library (commander, yargs, oclif): it costs no
 * start-up time (it is part of Node), and what a library would add (typed values, generated
 * help, completion, suggestions) is the hundred lines below, written to the kubectl habits the
 * CLI follows (-n/--namespace, --context, -o/--output, durations such as 10m).
 */
import { parseArgs } from 'node:util';
import { type CommandIo, UserError } from './io.ts';
import { didYouMean } from './suggest.ts';
import { parseDuration } from './duration.ts';

/** What the shell completes for an option's value. */
export type Completion = 'file' | 'directory' | 'context' | 'none';

interface FlagBase {
  readonly short?: string;
  /** One line (continuation lines after "\n") for --help. */
  readonly help: string;
  /** Not listed in --help (a deprecated spelling kept working). */
  readonly hidden?: boolean;
  /** A heading to list it under in --help, instead of "Options". */
  readonly group?: string;
  /**
   * A spelling that no longer works, with the message that says what replaced it: parsing it is
   * a one-line error naming the fix (synth -o DIR is now --output-dir DIR).
   */
  readonly moved?: string;
}

export interface StringFlag extends FlagBase {
  readonly type: 'string';
  /** The value's name in --help: FILE, NS, URL. */
  readonly value: string;
  readonly default?: string;
  /** The only values it takes; a typo gets a "did you mean". */
  readonly choices?: readonly string[];
  /** The message for a value not among the choices, when a plain "did you mean" is not the fix (a moved meaning). */
  readonly otherwise?: (given: string) => string;
  readonly complete?: Completion;
}

export interface ListFlag extends FlagBase {
  readonly type: 'list';
  readonly value: string;
  readonly complete?: Completion;
}

export interface BooleanFlag extends FlagBase {
  readonly type: 'boolean';
}

/** A duration as kubectl writes it (30s, 10m, 2h, 7d, 1h30m); the value is in milliseconds. */
export interface DurationFlag extends FlagBase {
  readonly type: 'duration';
  readonly value?: string;
  readonly default?: string;
}

export type Flag = StringFlag | ListFlag | BooleanFlag | DurationFlag;
export type Flags = Readonly<Record<string, Flag>>;

type ValueOf<F extends Flag> = F extends BooleanFlag
  ? boolean
  : F extends ListFlag
    ? string[]
    : F extends DurationFlag
      ? number
      : F extends { readonly choices: readonly (infer C extends string)[] }
        ? C
        : string;
/** The parsed options: a flag with a default (or a boolean or list) always has a value. */
export type Values<F extends Flags> = {
  readonly [K in keyof F]: F[K] extends BooleanFlag | ListFlag | { readonly default: string } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export interface Operands {
  /** How --help names them: "NAME", "[NAME]", "SQL". */
  readonly synopsis: string;
  readonly min: number;
  readonly max: number;
  /** Says what they are in the error for a wrong count: "one stack NAME". */
  readonly what: string;
}

export interface CommandSpec<F extends Flags> {
  readonly name: string;
  /** One line for the command list (main.ts repeats it so that --help loads no command). */
  readonly summary: string;
  /** The usage lines after "telemetry-stack NAME"; the first is the main form. */
  readonly synopsis: readonly string[];
  readonly description: string;
  readonly flags: F;
  readonly operands?: Operands;
  /** What the shell may complete as the first operand (report names), read only when completion is generated. */
  readonly operandValues?: () => readonly string[];
  /** Text after the options (exit codes, prerequisites); a function when it is read from disk (report names). */
  readonly footer?: string | (() => string);
  run(input: { values: Values<F>; operands: string[] }, io: CommandIo): Promise<number>;
}

/** What main.ts dispatches to. A command declared with defineCommand also carries its flags, for completion. */
export interface Command {
  name: string;
  summary: string;
  /** The full `--help` text of this command. */
  usage: string;
  /** Returns the exit code. Throw UserError for anything the user can fix. */
  run(args: string[], io: CommandIo): Promise<number>;
  /** The declared options (for completion); a command that writes its own usage has none, and completion reads its usage. */
  readonly flags?: Flags;
  readonly operandValues?: () => readonly string[];
}

const flagLabel = (name: string, flag: Flag) => {
  const value = flag.type === 'boolean' ? '' : ` ${flag.value ?? 'DURATION'}`;
  return `${flag.short ? `-${flag.short}, ` : '    '}--${name}${value}`;
};

function defaultNote(flag: Flag): string {
  if (flag.type !== 'string' && flag.type !== 'duration') return '';
  if (flag.default === undefined || flag.help.includes('default')) return '';
  return ` (default ${flag.default})`;
}

/** --help, from the declaration: usage lines, description, options by group. */
export function usageText<F extends Flags>(spec: Omit<CommandSpec<F>, 'run'>): string {
  const [first, ...more] = spec.synopsis;
  const lines = [`Usage: telemetry-stack ${spec.name}${first ? ` ${first}` : ''}`, ...more.map((line) => `       telemetry-stack ${spec.name} ${line}`), '', spec.description.trimEnd(), ''];
  const shown = Object.entries(spec.flags).filter(([, flag]) => !flag.hidden && flag.moved === undefined);
  const width = Math.min(26, Math.max(...shown.map(([name, flag]) => flagLabel(name, flag).length)));
  const groups = [...new Set(shown.map(([, flag]) => flag.group ?? 'Options'))];
  for (const group of groups) {
    lines.push(`${group}:`);
    for (const [name, flag] of shown.filter(([, candidate]) => (candidate.group ?? 'Options') === group)) {
      const label = flagLabel(name, flag);
      const [head, ...rest] = `${flag.help}${defaultNote(flag)}`.split('\n');
      lines.push(label.length > width ? `  ${label}\n  ${' '.repeat(width)}  ${head}` : `  ${label.padEnd(width)}  ${head}`);
      for (const line of rest) lines.push(`  ${' '.repeat(width)}  ${line}`);
    }
    lines.push('');
  }
  const footer = typeof spec.footer === 'function' ? spec.footer() : spec.footer;
  if (footer) lines.push(footer.trimEnd(), '');
  return lines.join('\n');
}

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/**
 * parseArgs with each mistake as a one-line UserError (exit 2) that names the fix: the nearest
 * option for a typo, and where the options are listed, rather than the whole usage text.
 */
export function parseStrict(command: string, args: string[], options: ParseOptions, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    const help = `telemetry-stack ${command} --help`.replace('  ', ' ');
    const { code, message } = error as { code?: string; message: string };
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== undefined) {
      const hint = didYouMean(unknown.split('=')[0]!, Object.keys(options).map((name) => `--${name}`));
      throw new UserError(`${command}: unknown option ${unknown}${hint ? `; did you mean ${hint}?` : ''} (${help} lists the options)`, 2);
    }
    const unexpected = /^Unexpected argument '([^']*)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && unexpected !== undefined) {
      throw new UserError(`${command}: unexpected argument "${unexpected}"; it takes options only (${help} lists them)`, 2);
    }
    throw new UserError(`${command}: ${message.split('\n')[0]} (${help} lists the options)`, 2);
  }
}

/** Parses a command line against a declaration: typed values, defaults, choices, durations, operand count. */
export function parseCommandLine<F extends Flags>(spec: Pick<CommandSpec<F>, 'name' | 'flags' | 'operands'>, args: string[]): { values: Values<F>; operands: string[] } {
  const options: ParseOptions = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = { type: flag.type === 'boolean' ? 'boolean' : 'string', ...(flag.short ? { short: flag.short } : {}), ...(flag.type === 'list' ? { multiple: true } : {}) };
  }
  const parsed = parseStrict(spec.name, args, options, spec.operands !== undefined);
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const given = (parsed.values as Record<string, unknown>)[name];
    if (given !== undefined && flag.moved !== undefined) throw new UserError(`${spec.name}: ${flag.moved}`, 2);
    if (flag.type === 'boolean') values[name] = given === true;
    else if (flag.type === 'list') values[name] = (given as string[] | undefined) ?? [];
    else if (flag.type === 'duration') {
      const text = (given as string | undefined) ?? flag.default;
      values[name] = text === undefined ? undefined : durationOf(spec.name, name, text);
    } else {
      const text = (given as string | undefined) ?? flag.default;
      if (text !== undefined && flag.choices && !flag.choices.includes(text)) {
        throw new UserError(`${spec.name}: ${flag.otherwise && !didYouMean(text, flag.choices) ? flag.otherwise(text) : choiceError(`--${name}`, text, flag.choices)}`, 2);
      }
      values[name] = text;
    }
  }
  const operands = parsed.positionals;
  if (spec.operands && (operands.length < spec.operands.min || operands.length > spec.operands.max)) {
    throw new UserError(`${spec.name} takes ${spec.operands.what}, got ${operands.length === 0 ? 'none' : operands.map((operand) => `"${operand}"`).join(' ')} (telemetry-stack ${spec.name} --help)`, 2);
  }
  return { values: values as Values<F>, operands };
}

/** `--output jsno is not one of table, json, csv; did you mean json?` */
export function choiceError(flag: string, given: string, choices: readonly string[]): string {
  const hint = didYouMean(given, choices);
  return `${flag} ${given} is not one of ${choices.join(', ')}${hint ? `; did you mean ${hint}?` : ''}`;
}

function durationOf(command: string, flag: string, text: string): number {
  const parsed = parseDuration(text);
  if (typeof parsed === 'number') return parsed;
  throw new UserError(`${command}: --${flag} ${text}: ${parsed.problem}`, 2);
}

/** A command from its declaration: --help and parsing derived, the body gets typed values. */
export function defineCommand<const F extends Flags>(spec: CommandSpec<F>): Command {
  let usage: string | undefined;
  return {
    name: spec.name,
    summary: spec.summary,
    get usage() {
      usage ??= usageText(spec);
      return usage;
    },
    flags: spec.flags,
    ...(spec.operandValues ? { operandValues: spec.operandValues } : {}),
    run: async (args, io) => spec.run(parseCommandLine(spec, args), io),
  };
}
