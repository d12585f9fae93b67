#!/usr/bin/env node
/** telemetry-stack: the command line. Each command lives in its own module; this file only dispatches. */
import { realpathSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Command, CommandIo } from './command.ts';
import { doctorCommand } from './doctor-command.ts';
import { downCommand } from './down-command.ts';
import { envCommand } from './env-command.ts';
import { eraseCommand } from './erase-command.ts';
import { UserError } from './errors.ts';
import { operatorCommand } from './operator-command.ts';
import { queryCommand } from './query-command.ts';
import { reportCommand } from './report-command.ts';
import { sanitizeCommand } from './sanitize-command.ts';
import { statusCommand } from './status-command.ts';
import { synthCommand } from './synth-command.ts';
import { upCommand } from './up-command.ts';

/** Add a command here: one import, one entry. */
export const COMMANDS: readonly Command[] = [
  synthCommand,
  sanitizeCommand,
  upCommand,
  downCommand,
  statusCommand,
  envCommand,
  queryCommand,
  reportCommand,
  eraseCommand,
  doctorCommand,
  operatorCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: telemetry-stack <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "telemetry-stack <command> --help" for a command's options.\n`;
}

/** Runs one command line against the given streams and returns the exit code. */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      io.stderr.write(usage());
      return 2;
    }
    if (name === '-h' || name === '--help' || name === 'help') {
      io.stdout.write(usage());
      return 0;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (!command) throw new UserError(`unknown command "${name}"\n\n${usage()}`, 2);
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout.write(command.usage);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UserError) {
      io.stderr.write(`telemetry-stack: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/** For tests: runs a command line with in-memory stdin and collects what it printed. */
export async function run(argv: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: options.env ?? process.env,
  });
  return { code, stdout, stderr };
}

// Run only as a program (also through the npm bin symlink), not when a test imports run().
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
      // A finished command exits even if a socket or timer outlived it (a port-forward's WebSocket,
      // a keep-alive connection): a long-running command like `operator` must end on SIGTERM.
      setTimeout(() => process.exit(), 2_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`telemetry-stack: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
