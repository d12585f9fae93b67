/** The shape every `telemetry-stack` command has, so main.ts only dispatches. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isNamespaceName } from '../api/constants.ts';
import { UserError } from './errors.ts';
import { didYouMean } from './suggest.ts';

/** Where a command reads and writes; tests pass in-memory streams, main.ts passes the process's. */
export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  /** Environment for commands that read it (kubeconfig, credentials); defaults to process.env. */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text of this command. */
  usage: string;
  /** Returns the exit code. Throw UserError for anything the user can fix. */
  run(args: string[], io: CommandIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with each mistake as a one-line UserError (exit 2) that names the fix: the nearest
 * option for a typo, and where the options are listed, rather than the whole usage text.
 */
export function parseCommandArgs<T extends Options>(args: string[], options: T, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    const command = /^Usage: telemetry-stack (\S+)/.exec(usage)?.[1] ?? '';
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

/** Namespace names given to a flag (operator --namespace, --watch-namespace): each valid, none twice. */
export function checkNamespaceNames(flag: string, names: readonly string[]): void {
  const bad = names.find((name) => !isNamespaceName(name));
  if (bad !== undefined) throw new UserError(`${flag}: "${bad}" is not a namespace name (lower-case letters, digits and "-")`, 2);
  if (new Set(names).size !== names.length) throw new UserError(`${flag}: a namespace is listed twice`, 2);
}
