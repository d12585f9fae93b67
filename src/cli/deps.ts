/**
 * What the cluster commands reach outside the process (programs, the API server, the repository's
 * files, ports, time); tests replace the parts that need Docker.
 */
import type { CommandIo } from './framework/io.ts';
import { connect, type ConnectOptions, type Kube } from './cluster/connection.ts';
import { portFree } from './local/ports.ts';
import { type ProjectFiles, projectFiles } from './local/project.ts';
import { processRunner, type Runner } from './local/runner.ts';

export interface CommandDeps {
  readonly runner: (io: CommandIo) => Runner;
  readonly connect: (env: NodeJS.ProcessEnv, options: ConnectOptions) => Promise<Kube>;
  readonly files: ProjectFiles;
  readonly portFree: (port: number) => Promise<boolean>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** How often to poll while waiting (Ready, CRD established). */
  readonly pollMs: number;
}

export const DEFAULT_DEPS: CommandDeps = {
  runner: processRunner,
  connect,
  files: projectFiles(),
  portFree,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => new Date(),
  pollMs: 2000,
};
