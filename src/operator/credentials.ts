/**
 * The stack's generated Secrets. Missing ones are created; existing ones are never
 * overwritten (a credential, once handed out, stays valid). The one derived Secret, the
 * collector's htpasswd file, is recomputed from the users' Secrets and applied like any
 * other desired object. Values are read here and handed on; they are never logged.
 */
import { API_GROUP_VERSION } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { stackNames } from '../charts/naming.ts';
import { generateSecrets, htpasswdDigest, htpasswdLine, type RandomSource, SECRET_KEYS, type SecretObject } from '../charts/secrets.ts';
import { isConflict, isNotFound, type KubeClient, type KubeObject, type OwnerReference } from './kube.ts';
import { OWNED, resourcePath } from './resources.ts';

const SECRETS = OWNED.find((resource) => resource.kind === 'Secret')!;

export type SecretData = Record<string, string>;

export function decodeSecretData(object: KubeObject): SecretData {
  const data = (object.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
}

function encode(data: SecretData): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

function toObject(secret: SecretObject, owner: OwnerReference, data: SecretData): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...secret.metadata, name: secret.metadata.name, ownerReferences: [owner] },
    type: 'Opaque',
    data: encode(data),
  };
}

export interface EnsuredSecrets {
  /** Decoded data of every generated Secret, by Secret name (never log it). */
  readonly data: Map<string, SecretData>;
  /** Names of the Secrets this reconcile created. */
  readonly created: string[];
  /** The htpasswd Secret as it should be, to apply with the other desired objects. */
  readonly ingestAuth: KubeObject;
  /** Paths of all generated Secrets: the prune keeps these. */
  readonly paths: string[];
  /** Digest of the htpasswd content for the collector pod template: a rotated password rolls the collector. */
  readonly ingestAuthDigest: string;
}

export async function ensureSecrets(
  client: KubeClient,
  stack: TelemetryStack,
  owner: OwnerReference,
  live: ReadonlyMap<string, KubeObject>,
  random?: RandomSource,
): Promise<EnsuredSecrets> {
  const namespace = stack.metadata.namespace;
  const names = stackNames(stack.metadata.name);
  const generated = generateSecrets(stack, random);
  const data = new Map<string, SecretData>();
  const created: string[] = [];
  const paths: string[] = [];
  let ingestAuth: SecretObject | undefined;
  for (const secret of generated) {
    const path = resourcePath(SECRETS, namespace, secret.metadata.name);
    paths.push(path);
    if (secret.metadata.name === names.ingestAuthSecret) {
      ingestAuth = secret;
      continue;
    }
    const existing = live.get(path);
    if (existing) {
      data.set(secret.metadata.name, decodeSecretData(existing));
      continue;
    }
    try {
      await client.request('POST', resourcePath(SECRETS, namespace), { body: toObject(secret, owner, secret.stringData) });
      data.set(secret.metadata.name, secret.stringData);
      created.push(secret.metadata.name);
    } catch (error) {
      // Created meanwhile (another replica, or a reconcile that died after the create): keep that one.
      if (!isConflict(error)) throw error;
      const current = await client.request<KubeObject>('GET', path);
      data.set(secret.metadata.name, decodeSecretData(current));
    }
  }
  const lines = stack.spec.access.users.map((user) => htpasswdLine(user.name, data.get(names.userSecret(user.name))![SECRET_KEYS.password]!));
  const htpasswd = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return { data, created, paths, ingestAuth: toObject(ingestAuth!, owner, { [SECRET_KEYS.htpasswd]: htpasswd }), ingestAuthDigest: htpasswdDigest(htpasswd) };
}

/** The external ClickHouse's administrative credentials, from the Secret the spec names. */
export async function readExternalCredentials(client: KubeClient, stack: TelemetryStack): Promise<{ username: string; password: string }> {
  const external = stack.spec.clickhouse.external!;
  const secret = external.credentialsSecret;
  let object: KubeObject;
  try {
    object = await client.request<KubeObject>('GET', resourcePath(SECRETS, stack.metadata.namespace, secret.name));
  } catch (error) {
    if (isNotFound(error)) throw new MissingCredentialsError(`Secret "${secret.name}" (spec.clickhouse.external.credentialsSecret.name) does not exist in namespace "${stack.metadata.namespace}"; create it with keys "${secret.usernameKey}" and "${secret.passwordKey}"`);
    throw error;
  }
  const values = decodeSecretData(object);
  const username = values[secret.usernameKey];
  const password = values[secret.passwordKey];
  if (username === undefined || password === undefined) {
    throw new MissingCredentialsError(`Secret "${secret.name}" lacks key "${username === undefined ? secret.usernameKey : secret.passwordKey}" (spec.clickhouse.external.credentialsSecret)`);
  }
  return { username, password };
}

export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

export function ownerReference(stack: { apiVersion?: string; kind?: string; metadata: { name: string; uid?: string } }): OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'TelemetryStack',
    name: stack.metadata.name,
    uid: stack.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}
