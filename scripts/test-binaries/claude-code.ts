/**
 * Installs the real Claude Code client the end-to-end tests drive (npm `@anthropic-ai/claude-code`
 * at VERSIONS.claudeCode) into the shared test binary cache, outside the project's dependencies:
 *
 *   node scripts/test-binaries/claude-code.ts        # installs once, prints the `claude` path
 *
 *   claude-code-<version>/node_modules/.bin/claude   (a native executable)
 *
 * How the package ships its binary (2.1.x): the wrapper package lists one optional dependency per
 * platform (`@anthropic-ai/claude-code-linux-x64`, `-linux-x64-musl`, `-darwin-arm64`, ...), each a
 * tarball on the npm registry holding the native executable, and its postinstall (`install.cjs`)
 * copies the matching one over the `bin/claude.exe` placeholder. Nothing is downloaded from
 * anywhere but the npm registry, and the client needs no network when it runs. The postinstall is
 * run again here when npm skipped it (--ignore-scripts, or npm's allow-scripts policy), and the
 * result must answer `--version` with the pinned version before it is renamed into the cache.
 *
 * The package is under Anthropic's own license: it is a test client here, never redistributed.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSIONS } from '../../src/versions.ts';
import { buildOnce, componentDir } from './cache.ts';

export const PACKAGE = '@anthropic-ai/claude-code';
export const INSTALL_COMMAND = 'node scripts/test-binaries/claude-code.ts';

export function claudeCodeDir(env: NodeJS.ProcessEnv = process.env): string {
  return componentDir('claude-code', VERSIONS.claudeCode, env);
}

/** Where `claude` is, whether or not it has been installed. */
export function claudeCodeBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(claudeCodeDir(env), 'node_modules', '.bin', 'claude');
}

/** The binary's path; throws with the command that installs it when it is missing (tests fail, never skip). */
export function requireClaudeCodeBinary(env: NodeJS.ProcessEnv = process.env): string {
  const path = claudeCodeBinaryPath(env);
  if (!existsSync(path)) {
    throw new Error(`The Claude Code test client is not installed (${path} is missing). Install it with: ${INSTALL_COMMAND}`);
  }
  return path;
}

/** Whether a file starts like a native executable (ELF or Mach-O), not the package's placeholder script. */
function isNative(path: string): boolean {
  if (!existsSync(path)) return false;
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const magic = head.readUInt32BE(0);
  return head.toString('latin1', 1, 4) === 'ELF' || [0xfeedfacf, 0xcffaedfe, 0xcafebabe].includes(magic);
}

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync('nice', ['-n', '10', command, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status} in ${cwd}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

export async function installClaudeCode(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  await buildOnce(claudeCodeDir(env), (workDir) => {
    // --include=optional: the native binary is an optional dependency; a user's omit=optional would leave only the placeholder.
    run('npm', ['install', '--prefix', workDir, '--no-audit', '--no-fund', '--no-save', '--include=optional', `${PACKAGE}@${VERSIONS.claudeCode}`], workDir);
    const packageDir = join(workDir, 'node_modules', ...PACKAGE.split('/'));
    if (!isNative(join(packageDir, 'bin', 'claude.exe'))) run(process.execPath, ['install.cjs'], packageDir);
    const binary = join(workDir, 'node_modules', '.bin', 'claude');
    if (!isNative(binary)) throw new Error(`${binary} is not a native executable after install: is a package for ${process.platform}-${process.arch} published?`);
    const version = run(binary, ['--version'], workDir);
    if (!version.startsWith(VERSIONS.claudeCode)) throw new Error(`${binary} --version printed "${version.trim()}", expected ${VERSIONS.claudeCode}`);
  });
  return claudeCodeBinaryPath(env);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  installClaudeCode().then(
    (binary) => {
      process.stderr.write(`[claude-code] ${VERSIONS.claudeCode} ready in ${Math.round((Date.now() - started) / 1000)}s\n`);
      process.stdout.write(`${binary}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`claude-code: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
