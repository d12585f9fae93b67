/**
 * Generated credentials. Never part of the pure render: the operator creates the
 * Secrets that are missing, and `synth --with-secrets` prints a fresh set on request.
 * Nothing here has a default value; every secret is random.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TelemetryStack } from '../api/resource.ts';
import { ADMIN_USER, GRAFANA_USER, INGEST_USER } from '../clickhouse/tables.ts';
import { componentLabels } from './labels.ts';
import { stackNames } from './naming.ts';

export type RandomSource = (bytes: number) => Buffer;

/** Data keys of the generated Secrets; the pods that read them use the same names. */
export const SECRET_KEYS = {
  username: 'username',
  password: 'password',
  /** SHA-256 (hex) of `password`: all the in-cluster ClickHouse ever sees of it. */
  passwordSha256: 'password_sha256_hex',
  hashKey: 'hash-key',
  htpasswd: 'htpasswd',
  /**
   * A user's ingestion credential: what the collector's basic auth checks, separate from their
   * ClickHouse query `password`, so the `Authorization` header `env` prints for shell profiles
   * and managed settings can send telemetry but cannot query or delete anything.
   */
  ingestToken: 'ingest-token',
  /** `Basic base64(user:ingest-token)`: the OTLP header `env` prints. */
  otlpAuthorization: 'otlp-authorization',
  /** Grafana's own admin login (the <stack>-grafana Secret). */
  adminPassword: 'admin-password',
} as const;

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  type: 'Opaque';
  stringData: Record<string, string>;
}

/** 32 random bytes as URL-safe base64: 256 bits, safe in URLs, headers and htpasswd. */
export function newPassword(random: RandomSource = randomBytes): string {
  return random(32).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An htpasswd line the collector's basicauth extension accepts ({SHA}: the passwords are random 256-bit values, so a fast hash does not weaken them). */
export function htpasswdLine(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}`;
}

/**
 * Digest of an htpasswd file's content, for the collector pod template (a rotated password
 * rolls the pods). SHA-256 of the whole file: its lines are user names and unsalted SHA-1
 * hashes of random 256-bit passwords, so the digest reveals nothing a guess could confirm
 * short of guessing every password; it tells a reader only that the credentials changed.
 */
export function htpasswdDigest(htpasswd: string): string {
  return sha256Hex(htpasswd);
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A user's write-only ingestion credential: a fresh token and the OTLP header made of it. */
export function ingestionCredential(user: string, random: RandomSource = randomBytes): { [SECRET_KEYS.ingestToken]: string; [SECRET_KEYS.otlpAuthorization]: string } {
  const token = newPassword(random);
  return { [SECRET_KEYS.ingestToken]: token, [SECRET_KEYS.otlpAuthorization]: basicAuthorization(user, token) };
}

export function generateSecrets(stack: TelemetryStack, random: RandomSource = randomBytes): SecretObject[] {
  const name = stack.metadata.name;
  const names = stackNames(name);
  const labels = componentLabels(name, 'access');
  const secret = (secretName: string, stringData: Record<string, string>): SecretObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      ...(stack.metadata.namespace ? { namespace: stack.metadata.namespace } : {}),
      labels,
    },
    type: 'Opaque',
    stringData,
  });
  const account = (user: string) => {
    const password = newPassword(random);
    return { [SECRET_KEYS.username]: user, [SECRET_KEYS.password]: password, [SECRET_KEYS.passwordSha256]: sha256Hex(password) };
  };

  const out: SecretObject[] = [];
  if (stack.spec.clickhouse.mode === 'inCluster') out.push(secret(names.clickhouseAdminSecret, account(ADMIN_USER)));
  out.push(secret(names.clickhouseIngestSecret, account(INGEST_USER)));
  out.push(secret(names.sanitizerKeySecret, { [SECRET_KEYS.hashKey]: random(32).toString('hex') }));
  if (stack.spec.grafana.enabled) {
    out.push(secret(names.grafanaSecret, { ...account(GRAFANA_USER), [SECRET_KEYS.adminPassword]: newPassword(random) }));
  }

  const htpasswd: string[] = [];
  for (const user of stack.spec.access.users) {
    const ingestion = ingestionCredential(user.name, random);
    htpasswd.push(htpasswdLine(user.name, ingestion[SECRET_KEYS.ingestToken]));
    out.push(secret(names.userSecret(user.name), { ...account(user.name), ...ingestion }));
  }
  out.push(secret(names.ingestAuthSecret, { [SECRET_KEYS.htpasswd]: htpasswd.length > 0 ? `${htpasswd.join('\n')}\n` : '' }));
  return out;
}
