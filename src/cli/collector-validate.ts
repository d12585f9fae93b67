/**
 * Checks a rendered collector configuration with a real collector binary (`otelcol validate`),
 * for `synth --validate-with` and the tests. The configuration reads its secrets from the
 * environment; validation needs them set but not real, so they get placeholders here and the
 * user's own environment is not passed on.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR_ENV } from '../charts/collector/config.ts';
import { HASH_KEY_ENV } from '../sanitizer/compile.ts';

/** Every environment variable a rendered configuration can reference, with a placeholder value. */
export const PLACEHOLDER_ENV: Readonly<Record<string, string>> = {
  [COLLECTOR_ENV.clickhouseUsername]: 'placeholder-user',
  [COLLECTOR_ENV.clickhousePassword]: 'placeholder-password',
  [COLLECTOR_ENV.upstreamAuthorization]: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=',
  [HASH_KEY_ENV]: 'placeholder-hash-key',
};

export interface CollectorValidation {
  readonly ok: boolean;
  /** What the collector printed (its reason when not ok). */
  readonly output: string;
}

interface Prepared {
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  cleanup(): void;
}

function prepare(binary: string, yaml: string, env: Record<string, string>): Prepared {
  if (!existsSync(binary)) throw new Error(`collector binary ${binary} does not exist`);
  const dir = mkdtempSync(join(tmpdir(), 'tstack-validate-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return {
    args: ['validate', `--config=${file}`],
    env: { PATH: process.env.PATH ?? '', ...PLACEHOLDER_ENV, ...env },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `<binary> validate --config=<file>` on the YAML; `env` overrides the placeholders. */
export function validateCollectorYaml(binary: string, yaml: string, env: Record<string, string> = {}): CollectorValidation {
  const prepared = prepare(binary, yaml, env);
  try {
    const result = spawnSync(binary, prepared.args, { env: prepared.env, encoding: 'utf8', timeout: 60_000 });
    if (result.error) throw result.error;
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    prepared.cleanup();
  }
}

/** The same check without blocking, so several can run at once. */
export async function validateCollectorYamlAsync(binary: string, yaml: string, env: Record<string, string> = {}): Promise<CollectorValidation> {
  const prepared = prepare(binary, yaml, env);
  try {
    return await new Promise<CollectorValidation>((resolve, reject) => {
      execFile(binary, prepared.args, { env: prepared.env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ ok: !error, output: `${stdout}${stderr}`.trim() });
      });
    });
  } finally {
    prepared.cleanup();
  }
}
