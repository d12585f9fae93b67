/**
 * What a command module imports. A command is declared once with defineCommand (options, types,
 * defaults, help: framework/command.ts), which derives its --help, its parsing and its shell
 * completion; main.ts lists it with one line. parseCommandArgs serves a command that writes
 * its own usage text.
 */
import type { ParseArgsConfig } from 'node:util';
import { isNamespaceName } from '../api/constants.ts';
import { type CommandIo, UserError } from './framework/io.ts';
import { parseStrict } from './framework/command.ts';

export type { CommandIo };
export { UserError };
export { type Command, defineCommand, type Flags, type Values } from './framework/command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs for a hand-written usage text, with the framework's one-line errors. */
export function parseCommandArgs<const T extends Options>(args: string[], options: T, usage: string, allowPositionals = false) {
  const command = /^Usage: telemetry-stack (\S+)/.exec(usage)?.[1] ?? '';
  return parseStrict(command, args, options as Parameters<typeof parseStrict>[2], allowPositionals) as unknown as ReturnType<typeof import('node:util').parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: boolean }>>;
}

/** Namespace names given to a flag (operator --namespace, --watch-namespace): each valid, none twice. */
export function checkNamespaceNames(flag: string, names: readonly string[]): void {
  const bad = names.find((name) => !isNamespaceName(name));
  if (bad !== undefined) throw new UserError(`${flag}: "${bad}" is not a namespace name (lower-case letters, digits and "-")`, 2);
  if (new Set(names).size !== names.length) throw new UserError(`${flag}: a namespace is listed twice`, 2);
}
