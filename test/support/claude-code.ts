/**
 * Runs the real Claude Code client (scripts/test-binaries/claude-code.ts) non-interactively:
 * `claude -p PROMPT` in a throwaway HOME and working directory, against the Messages API stand-in
 * (messages-api.ts), with only the environment given here (the developer's own settings, keys and
 * telemetry variables stay out). The telemetry variables come from the project's own
 * `telemetry-stack env --user NAME` output, sourced by bash as a shell profile would
 * (`telemetryEnvFromCli`), so what onboarding prints is what the client runs with.
 *
 * Never a hang: a timeout (or the end of the run) kills the client's process group and every
 * process it left behind. The group alone is not enough: the Bash tool starts each command in a
 * session of its own (setsid), so a command that outlives the client is found by a marker
 * variable in its environment (RUN_MARKER_ENV, inherited by everything the client starts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TelemetryStack } from '../../src/api/resource.ts';
import { SECRET_KEYS } from '../../src/stack/secrets.ts';
import { stackNames } from '../../src/stack/naming.ts';
import { run } from '../../src/cli/main.ts';
import { requireClaudeCodeBinary } from '../../scripts/test-binaries/claude-code.ts';
import type { StackSecrets } from '../../harness/collector.ts';
import { startFakeApiServer } from './fake-apiserver.ts';

/** Short export intervals so a `-p` run of a few seconds exports while it runs (it also flushes at exit). */
export const FAST_EXPORT_ENV = { OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_LOGS_EXPORT_INTERVAL: '500' } as const;

/** Keeps the client offline and quiet: no update checks, no non-essential traffic. */
export const OFFLINE_ENV = { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } as const;

export interface ClaudeRunOptions {
  readonly prompt: string;
  /** The Messages API stand-in's base URL (ANTHROPIC_BASE_URL). */
  readonly apiUrl: string;
  /** Telemetry variables (e.g. from telemetryEnvFromCli); FAST_EXPORT_ENV is applied on top. */
  readonly telemetryEnv?: Readonly<Record<string, string>>;
  /** Anything else, applied last (e.g. CLAUDE_CODE_MAX_RETRIES). */
  readonly env?: Readonly<Record<string, string>>;
  /** Passed to --allowedTools; default Bash Edit Write Read. */
  readonly allowedTools?: readonly string[];
  /** More command-line arguments (e.g. --mcp-config FILE, --model M). */
  readonly args?: readonly string[];
  /** Reuse a HOME (e.g. with skills or settings written into it); default a fresh temp dir. */
  readonly home?: string;
  /** Working directory; default a fresh temp dir. */
  readonly cwd?: string;
  /** Default 120 s: generous for a loaded 2-core machine; a run normally takes seconds. */
  readonly timeoutMs?: number;
  /** Aborting kills the run as a timeout does. */
  readonly signal?: AbortSignal;
}

export interface ClaudeRun {
  /** The client's pid, which is also its process group id. */
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly home: string;
  readonly cwd: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
  /** The environment the client ran with (for failure messages; holds the test credential). */
  readonly env: Readonly<Record<string, string>>;
}

/** Set to a fresh id in each run's environment, so everything the run started can be found and killed. */
export const RUN_MARKER_ENV = 'TSTACK_CLAUDE_RUN';

const running = new Map<ChildProcess, string>();
const createdDirs = new Set<string>();

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  createdDirs.add(dir);
  return dir;
}

/** Pids whose environment holds RUN_MARKER_ENV=marker (Linux /proc; elsewhere none are found). */
export function processesOfRun(marker: string): number[] {
  if (!existsSync('/proc')) return [];
  const needle = `${RUN_MARKER_ENV}=${marker}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** The client's process group, then whatever of the run survives in other groups or sessions. */
function killRun(child: ChildProcess, marker: string): void {
  if (child.pid !== undefined) kill(-child.pid);
  for (const pid of processesOfRun(marker)) kill(pid);
}

/** A fresh HOME for the client (it writes ~/.claude/, including session transcripts). */
export function claudeHome(): string {
  const home = tempDir('tstack-claude-home-');
  mkdirSync(join(home, '.claude'), { recursive: true });
  return home;
}

export async function runClaude(options: ClaudeRunOptions): Promise<ClaudeRun> {
  const binary = requireClaudeCodeBinary();
  const home = options.home ?? claudeHome();
  const cwd = options.cwd ?? tempDir('tstack-claude-cwd-');
  const marker = randomUUID();
  const env: Record<string, string> = {
    [RUN_MARKER_ENV]: marker,
    // A fixed PATH: the Bash tool needs a shell and coreutils, nothing from the developer's PATH.
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmpdir(),
    ANTHROPIC_BASE_URL: options.apiUrl,
    ANTHROPIC_API_KEY: 'sk-ant-api03-test-key-for-the-stand-in',
    ...OFFLINE_ENV,
    ...options.telemetryEnv,
    ...(options.telemetryEnv ? FAST_EXPORT_ENV : {}),
    ...options.env,
  };
  const args = ['-p', options.prompt, '--allowedTools', (options.allowedTools ?? ['Bash', 'Edit', 'Write', 'Read']).join(' '), ...(options.args ?? [])];
  const started = Date.now();
  const child = spawn(binary, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.set(child, marker);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killRun(child, marker);
  }, options.timeoutMs ?? 120_000);
  const onAbort = () => {
    aborted = true;
    killRun(child, marker);
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  }).finally(() => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // Whatever the client left behind (a tool's subprocess, an MCP server) goes with it.
    killRun(child, marker);
    running.delete(child);
  });
  return { pid: child.pid ?? 0, code, signal, stdout, stderr, home, cwd, timedOut, aborted, durationMs: Date.now() - started, env };
}

/** One line for assertion messages: how the run ended and what it printed. */
export function describeRun(result: ClaudeRun): string {
  const killed = result.timedOut ? ' (timed out: killed with everything it started)' : result.aborted ? ' (aborted: killed with everything it started)' : '';
  return `claude exited ${result.code ?? result.signal}${killed} after ${result.durationMs} ms\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** For afterAll: kills every client a test file started and did not wait for, and removes the temp dirs. */
export function stopAllClaude(): void {
  for (const [child, marker] of running) killRun(child, marker);
  running.clear();
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
  createdDirs.clear();
}

/**
 * The variables a shell has after sourcing `exports` (the output of `telemetry-stack env`):
 * bash does the unquoting, exactly as in a user's profile.
 */
export function sourceExports(exports: string): Record<string, string> {
  const names = [...exports.matchAll(/^export ([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((match) => match[1]!);
  const dir = tempDir('tstack-env-');
  const file = join(dir, 'env.sh');
  writeFileSync(file, exports);
  const shell = spawnSync('bash', ['-c', 'source "$1"; shift; for name in "$@"; do printf "%s=%s\\0" "$name" "${!name}"; done', 'source', file, ...names], {
    encoding: 'utf8',
    env: {},
    timeout: 30_000,
  });
  if (shell.status !== 0) throw new Error(`sourcing the env output failed (${shell.status}): ${shell.stderr}`);
  return Object.fromEntries(
    shell.stdout
      .split('\0')
      .filter((pair) => pair !== '')
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

export interface CliEnvOptions {
  readonly stack: TelemetryStack;
  readonly secrets: StackSecrets;
  readonly user: string;
  /** Where the client sends OTLP (the collector's HTTP receiver, or a recorder in front of it). */
  readonly endpoint: string;
  readonly extraArgs?: readonly string[];
  /** The environment `env` runs in (a user's profile), besides the stand-in cluster's kubeconfig. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CliEnv {
  /** What `telemetry-stack env` printed. */
  readonly output: string;
  /** The variables after sourcing it. */
  readonly env: Record<string, string>;
  /** Its notes (stderr). */
  readonly stderr: string;
}

/**
 * Runs the project's own `telemetry-stack env --user NAME --endpoint URL` against a stand-in
 * Kubernetes API that serves the stack and the user's Secret (the same objects the operator
 * would create), and sources its output. The real-cluster path of `env` is tested elsewhere; this
 * keeps the client tests free of a control plane while still using the command's real output.
 */
export async function telemetryEnvFromCli(options: CliEnvOptions): Promise<CliEnv> {
  const { stack, secrets, user } = options;
  const namespace = stack.metadata.namespace ?? 'default';
  const name = stack.metadata.name;
  const secretName = stackNames(name).userSecret(user);
  const secret = secrets.secrets.find((s) => s.metadata.name === secretName);
  if (!secret) throw new Error(`the stack's secrets have no ${secretName} (is ${user} in spec.access.users?)`);
  if (!secret.stringData[SECRET_KEYS.otlpAuthorization]) throw new Error(`${secretName} has no ${SECRET_KEYS.otlpAuthorization}`);
  const api = await startFakeApiServer({
    [`GET /apis/telemetrystack.io/v1alpha1/namespaces/${namespace}/telemetrystacks`]: {
      body: { items: [{ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name, namespace, generation: 1 }, spec: stack.spec }] },
    },
    [`GET /api/v1/namespaces/${namespace}/secrets/${secretName}`]: {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secret.metadata,
        data: Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      },
    },
  });
  try {
    const result = await run(['env', '--user', user, '-n', namespace, '--stack', name, '--endpoint', options.endpoint, ...(options.extraArgs ?? [])], {
      env: { ...options.env, KUBECONFIG: api.kubeconfig, HOME: tempDir('tstack-env-home-') },
    });
    if (result.code !== 0) throw new Error(`telemetry-stack env exited ${result.code}: ${result.stderr}`);
    return { output: result.stdout, env: sourceExports(result.stdout), stderr: result.stderr };
  } finally {
    await api.close();
  }
}

/** A skill in the client's HOME (~/.claude/skills/NAME/SKILL.md), which the model can invoke with the Skill tool. */
export function writeSkill(home: string, name: string, description: string, instructions: string): void {
  const dir = join(home, '.claude', 'skills', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SKILL.md'), `---\nname: ${name}\ndescription: ${description}\n---\n${instructions}\n`);
}

/** ~/.claude/settings.json (hooks, permissions, env ...). */
export function writeSettings(home: string, settings: Record<string, unknown>): void {
  mkdirSync(join(home, '.claude'), { recursive: true });
  writeFileSync(join(home, '.claude', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * A minimal MCP server over stdio (newline-delimited JSON-RPC) with one tool, `echo`, which
 * answers "echo: <text>"; the model calls it as `mcp__<name>__echo`. Returns the file for
 * `--mcp-config`. It runs on the Node that runs the tests, so the client's fixed PATH does not matter.
 */
export function writeEchoMcpServer(dir: string, name = 'probe'): string {
  const server = join(dir, `mcp-${name}.mjs`);
  writeFileSync(
    server,
    `import { createInterface } from 'node:readline';
const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...message }) + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined) return; // notifications
  if (m.method === 'initialize') send({ id: m.id, result: { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: ${JSON.stringify(name)}, version: '1.0.0' } } });
  else if (m.method === 'tools/list') send({ id: m.id, result: { tools: [{ name: 'echo', description: 'Echoes the text back', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } }] } });
  else if (m.method === 'tools/call') send({ id: m.id, result: { content: [{ type: 'text', text: 'echo: ' + (m.params?.arguments?.text ?? '') }] } });
  else if (m.method === 'ping') send({ id: m.id, result: {} });
  else send({ id: m.id, error: { code: -32601, message: 'method not found: ' + m.method } });
});
`,
  );
  const config = join(dir, `mcp-${name}.json`);
  writeFileSync(config, JSON.stringify({ mcpServers: { [name]: { command: process.execPath, args: [server] } } }, null, 2));
  return config;
}
