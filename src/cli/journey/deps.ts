/** What the journey commands reach outside the process; tests replace the parts that need Docker. */
import { createServer } from 'node:net';
import type { CommandIo } from '../command.ts';
import { connect, type ConnectOptions, type Kube } from './kube.ts';
import { type ProjectFiles, projectFiles } from './project.ts';
import { processRunner, type Runner } from './runner.ts';

export interface JourneyDeps {
  readonly runner: (io: CommandIo) => Runner;
  readonly connect: (env: NodeJS.ProcessEnv, options: ConnectOptions) => Promise<Kube>;
  readonly files: ProjectFiles;
  readonly portFree: (port: number) => Promise<boolean>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** How often to poll while waiting (Ready, CRD established). */
  readonly pollMs: number;
}

/** True when nothing listens on the host port (kind binds 0.0.0.0). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

export const DEFAULT_DEPS: JourneyDeps = {
  runner: processRunner,
  connect,
  files: projectFiles(),
  portFree,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => new Date(),
  pollMs: 2000,
};
