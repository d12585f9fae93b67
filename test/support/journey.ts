/**
 * Helpers for the journey commands' tests: a scripted Runner standing in for docker and
 * kind (which cannot run here), and kubeconfigs that point a named context at the real
 * test cluster.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import type { Command, CommandIo } from '../../src/cli/command.ts';
import { UserError } from '../../src/cli/errors.ts';
import type { RunOptions, RunResult, Runner } from '../../src/cli/local/runner.ts';
import { ROOT } from '../../harness/stacks.ts';

export interface ScriptedCall {
  program: string;
  args: readonly string[];
  stream: boolean;
}

/** Answers by the longest matching "program arg arg" prefix; unscripted calls succeed with no output. */
export class ScriptedRunner implements Runner {
  readonly calls: ScriptedCall[] = [];
  readonly installed: Set<string>;
  readonly script: Map<string, Partial<RunResult>>;
  constructor(installed: readonly string[], script: Record<string, Partial<RunResult>> = {}) {
    this.installed = new Set(installed);
    this.script = new Map(Object.entries(script));
  }
  which(program: string): string | undefined {
    return this.installed.has(program) ? `/usr/bin/${program}` : undefined;
  }
  async run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ program, args, stream: options.stream ?? false });
    const line = [program, ...args].join(' ');
    const key = [...this.script.keys()].filter((prefix) => line.startsWith(prefix)).sort((a, b) => b.length - a.length)[0];
    const answer = key === undefined ? {} : this.script.get(key)!;
    return { code: answer.code ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
  }
  /** The calls as "program args" lines, paths shortened for readable assertions. */
  lines(): string[] {
    return this.calls.map((call) => [call.program, ...call.args].join(' ').replaceAll(ROOT, '<root>'));
  }
}

/** Runs one command object (not through main's registry) with in-memory streams, as main.ts does. */
export async function runCommand(command: Command, args: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdin: Readable.from([]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
  };
  try {
    return { code: await command.run(args, io), stdout, stderr };
  } catch (error) {
    if (error instanceof UserError) return { code: error.exitCode, stdout, stderr: `${stderr}telemetry-stack: ${error.message}\n` };
    throw error;
  }
}

/** A copy of a kubeconfig whose current context is renamed (e.g. to "kind-NAME", as kind would name it). */
export function kubeconfigWithContext(path: string, context: string): string {
  const source = new KubeConfig();
  source.loadFromFile(path);
  const current = source.getContextObject(source.getCurrentContext())!;
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: source.getClusters(),
    users: source.getUsers(),
    contexts: [{ ...current, name: context }],
    currentContext: context,
  });
  const file = join(mkdtempSync(join(tmpdir(), 'tstack-kubeconfig-')), 'config');
  writeFileSync(file, copy.exportConfig());
  return file;
}
