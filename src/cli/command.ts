/** The shape every `telemetry-stack` command has, so main.ts only dispatches. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isNamespaceName } from '../api/constants.ts';
import { UserError } from './errors.ts';

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

/** parseArgs with the command's usage appended to any mistake, as a UserError (exit 2). */
export function parseCommandArgs<T extends Options>(args: string[], options: T, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UserError(`${(error as Error).message}\n\n${usage}`, 2);
  }
}

/** Namespace names given to a flag (operator --namespace, --watch-namespace): each valid, none twice. */
export function checkNamespaceNames(flag: string, names: readonly string[]): void {
  const bad = names.find((name) => !isNamespaceName(name));
  if (bad !== undefined) throw new UserError(`${flag}: "${bad}" is not a namespace name (lower-case letters, digits and "-")`, 2);
  if (new Set(names).size !== names.length) throw new UserError(`${flag}: a namespace is listed twice`, 2);
}
