/**
 * What every part of the CLI shares: where a command reads and writes, and the error for a
 * mistake the user can fix. The commands (src/cli/*-command.ts) and the folders they use
 * (cluster/, local/, doctor/, stack-file/ ...) all import this file; it imports nothing of theirs.
 */

/** Where a command reads and writes; tests pass in-memory streams, main.ts passes the process's. */
export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  /** Data only (manifests, rows, exports): what `> file` or a pipe should get. */
  stdout: { write(chunk: string): unknown };
  /** Messages, progress and warnings. */
  stderr: { write(chunk: string): unknown };
  /** Environment for commands that read it (kubeconfig, credentials); defaults to process.env. */
  env: NodeJS.ProcessEnv;
}

/** A mistake the user can fix: printed as a message, never as a stack trace. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/**
 * Colour only for a person at a terminal: never in a pipe, a file or a log, and never when
 * NO_COLOR is set (no-color.org) or the terminal is "dumb".
 */
export function useColour(stream: CommandIo['stdout'], env: NodeJS.ProcessEnv): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}
