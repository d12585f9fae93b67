/**
 * External programs (docker, kind) go through this interface so that tests can script
 * them and assert the sequence and the failure messages without a Docker engine.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CommandIo } from '../framework/io.ts';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Also copy the program's output to the user's stderr as it runs (long steps: image build, cluster create). */
  readonly stream?: boolean;
}

export interface Runner {
  /** The program's path when it is on PATH. */
  which(program: string): string | undefined;
  run(program: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Runs programs found on the command's PATH, with the command's environment (so kind writes the kubeconfig the CLI then reads). */
export function processRunner(io: CommandIo): Runner {
  const which = (program: string) => {
    for (const dir of (io.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, program);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
    return undefined;
  };
  return {
    which,
    run(program, args, options = {}) {
      return new Promise((resolve) => {
        const child = spawn(which(program) ?? program, [...args], { env: io.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (options.stream) io.stderr.write(chunk.toString());
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (options.stream) io.stderr.write(chunk.toString());
        });
        child.on('error', (error) => resolve({ code: 127, stdout, stderr: stderr + error.message }));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    },
  };
}

/** The first meaningful line of a program's error output, for messages. */
export function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '(no output)';
}
