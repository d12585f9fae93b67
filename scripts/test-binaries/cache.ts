/**
 * Where test binaries built from Go modules live: outside the checkout, keyed by component
 * and version, so every clone and every CI run on a machine reuses one build.
 *
 *   $TSTACK_BIN_CACHE (default: $XDG_CACHE_HOME/telemetry-stack or ~/.cache/telemetry-stack)
 *     <component>-<version>/        e.g. otelcol-0.161.0/, kubernetes-1.34.1/, etcd-3.6.4/, kwok-0.8.0/
 *
 * A build writes into a temporary folder and renames it into place when it succeeds, so a
 * half-finished build (a session stopped mid-way) is never mistaken for a finished one.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSTACK_BIN_CACHE) return env.TSTACK_BIN_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'telemetry-stack');
}

export function componentDir(component: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `${component}-${version}`);
}

/** Builds into `<dir>.partial-<pid>` and renames it to `dir` only when `build` returns. */
export async function buildOnce(dir: string, build: (workDir: string) => Promise<void> | void): Promise<string> {
  if (existsSync(dir)) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await build(partial);
  if (!existsSync(dir)) renameSync(partial, dir);
  else rmSync(partial, { recursive: true, force: true });
  return dir;
}
