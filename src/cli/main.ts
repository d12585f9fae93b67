#!/usr/bin/env node
/**
 * telemetry-stack: the command line. Each command lives in its own module, loaded only when it
 * runs: the list below is all `--help` needs, so it starts without zod, cdk8s or the Kubernetes
 * client. This file only dispatches.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Command } from './command.ts';
import type { CommandIo } from './framework/io.ts';
import { UserError } from './framework/io.ts';
import { didYouMean } from './framework/suggest.ts';

export interface CommandEntry {
  readonly name: string;
  /** One line for the command list; test/cli-help.test.ts checks it is the module's own summary. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Add a command here: one entry, its module imported on dispatch. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'synth', summary: 'Print the Kubernetes manifests of a stack (like helm template)', load: async () => (await import('./synth-command.ts')).synthCommand },
  { name: 'sanitize', summary: 'Show what the stack would store for JSON Lines records (sanitizer and level preview)', load: async () => (await import('./sanitize-command.ts')).sanitizeCommand },
  { name: 'up', summary: 'Create a local kind cluster (or use --context), install the operator and a stack, wait until Ready', load: async () => (await import('./up-command.ts')).upCommand },
  { name: 'down', summary: 'Delete the local kind cluster, or with --context the stack (and with --uninstall the operator)', load: async () => (await import('./down-command.ts')).downCommand },
  { name: 'status', summary: "Print a stack's conditions in words", load: async () => (await import('./status-command.ts')).statusCommand },
  { name: 'env', summary: 'Print the exports that send Claude Code telemetry to a stack with your credentials', load: async () => (await import('./env-command.ts')).envCommand },
  { name: 'import', summary: "Send Claude Code's local transcripts (the history from before telemetry) to your stack", load: async () => (await import('./import-command.ts')).importCommand },
  { name: 'query', summary: 'Run SQL against a stack in the cluster as your user (port-forward to ClickHouse)', load: async () => (await import('./query-command.ts')).queryCommand },
  { name: 'report', summary: 'Run a named query (cost-by-user, api-errors, session-trace...) on a stack, a server or exported data', load: async () => (await import('./report-command.ts')).reportCommand },
  { name: 'erase', summary: "Delete one person's telemetry from a stack in the cluster (counts first; --yes deletes)", load: async () => (await import('./erase-command.ts')).eraseCommand },
  { name: 'doctor', summary: 'Check cluster, operator, stack, pods, credentials, clock, events arriving and disk; print a fix for each failure', load: async () => (await import('./doctor-command.ts')).doctorCommand },
  { name: 'operator', summary: 'Run the TelemetryStack controller (reconciles stacks in a cluster)', load: async () => (await import('./operator-command.ts')).operatorCommand },
];

/** The package's version, read from package.json (one level above src/ and build/). */
export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** Commands main.ts answers itself, without loading a module. */
export const BUILT_IN = [
  { name: 'help', summary: 'Print the commands, or with a command name its options' },
  { name: 'completion', summary: 'Print shell completion for bash, zsh or fish (source <(telemetry-stack completion bash))' },
  { name: 'version', summary: 'Print the version (also --version)' },
] as const;

function usage(): string {
  const all = [...COMMANDS, ...BUILT_IN];
  const width = Math.max(...all.map((command) => command.name.length));
  const lines = (list: readonly { name: string; summary: string }[]) => list.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return (
    `Usage: telemetry-stack <command> [options]\n\nCommands:\n${lines(COMMANDS)}\n\nOther commands:\n${lines(BUILT_IN)}\n\n` +
    'Run "telemetry-stack help <command>" (or "<command> --help") for its options; "telemetry-stack --version" prints the version.\n' +
    'Cluster commands take kubectl\'s --kubeconfig, --context and -n/--namespace, --stack NAME for the stack, -o/--output for the format;\n' +
    'data goes to stdout, messages to stderr.\n'
  );
}

/** `completion SHELL`: loads every command for its declared options (run once, when a shell is set up). */
async function completion(rest: readonly string[]): Promise<string> {
  const { SHELLS, completionScript, flagsFromUsage } = await import('./framework/completion.ts');
  const shell = rest[0];
  if (rest.length !== 1 || !(SHELLS as readonly string[]).includes(shell!)) {
    const hint = shell === undefined ? undefined : didYouMean(shell, SHELLS);
    throw new UserError(`completion takes one shell: ${SHELLS.join(', ')}${hint ? `; did you mean "${hint}"?` : ''} (e.g. source <(telemetry-stack completion bash))`, 2);
  }
  const loaded = await Promise.all(COMMANDS.map(async (entry) => ({ entry, command: await entry.load() })));
  const commands = loaded.map(({ entry, command }) => ({
    name: entry.name,
    summary: entry.summary,
    flags: command.flags ?? flagsFromUsage(command.usage),
    ...(command.operandValues ? { operands: command.operandValues() } : {}),
  }));
  const names = COMMANDS.map((entry) => entry.name);
  commands.push({ name: 'help', summary: BUILT_IN[0].summary, flags: {}, operands: names });
  commands.push({ name: 'completion', summary: BUILT_IN[1].summary, flags: {}, operands: [...SHELLS] });
  return completionScript(shell as (typeof SHELLS)[number], commands);
}

function findCommand(name: string): CommandEntry {
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (entry) return entry;
  const hint = didYouMean(name, [...COMMANDS, ...BUILT_IN].map((command) => command.name));
  throw new UserError(`unknown command "${name}"${hint ? `; did you mean "${hint}"?` : ''} (telemetry-stack --help lists the commands)`, 2);
}

/** Runs one command line against the given streams and returns the exit code. */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      io.stderr.write(usage());
      return 2;
    }
    if (name === '-h' || name === '--help') {
      io.stdout.write(usage());
      return 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.stdout.write(`telemetry-stack ${version()}\n`);
      return 0;
    }
    if (name === 'completion') {
      io.stdout.write(await completion(rest));
      return 0;
    }
    if (name === 'help') {
      if (rest.length === 0) {
        io.stdout.write(usage());
        return 0;
      }
      if (rest.length > 1) throw new UserError(`help takes one command name, e.g. "telemetry-stack help synth"`, 2);
      io.stdout.write((await findCommand(rest[0]!).load()).usage);
      return 0;
    }
    const command = await findCommand(name).load();
    // Everything after "--" is an operand (a value that starts with "-"), never a request for help.
    const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (options.includes('-h') || options.includes('--help')) {
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

/** The process's command line through main(): used when run as a program and by bin/telemetry-stack.js. */
export function runAsProgram(): void {
  // Node keeps the compiled code (and the stripped TypeScript) of the modules a command loads in
  // its compile cache (os.tmpdir()/node-compile-cache; NODE_DISABLE_COMPILE_CACHE=1 turns it off):
  // the second run of a command skips that work, as tsc's own bin does.
  enableCompileCache();
  // `telemetry-stack synth | head` closes the pipe early: the reader has what it wanted, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
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

// Run only as a program (node src/cli/main.ts, node build/cli/main.js), not when a test or the bin imports it.
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) runAsProgram();
