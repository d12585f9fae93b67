/**
 * The stack's generated Secrets. Missing ones are created; existing ones are never
 * overwritten (a credential, once handed out, stays valid). The one derived Secret, the
 * collector's htpasswd file, is recomputed from the users' Secrets and applied like any
 * other desired object. Values are read here and handed on; they are never logged.
 *
 * A generated Secret is used only when this stack controls it (controller owner reference
 * with the stack's uid): a same-named Secret made by anyone else is never adopted, read or
 * handed to a pod; it is an ObjectConflictError. Secrets the spec names (headersSecret,
 * credentialsSecret) are read or referenced only when labelled REFERENCEABLE_LABEL=true.
 */
import { API_GROUP_VERSION, REFERENCEABLE_LABEL } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { stackNames } from '../stack/naming.ts';
import { generateSecrets, htpasswdDigest, htpasswdLine, ingestionCredential, type RandomSource, SECRET_KEYS, type SecretObject } from '../stack/secrets.ts';
import { isControlledBy, ObjectConflictError, type OwnershipConflict, ownershipConflict } from './apply.ts';
import { isConflict, isNotFound, type KubeClient, type KubeObject, type OwnerReference } from '../kube/client.ts';
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
  const conflicts: OwnershipConflict[] = [];
  const userBySecret = new Map(stack.spec.access.users.map((user) => [names.userSecret(user.name), user.name]));
  let ingestAuth: SecretObject | undefined;
  for (const secret of generated) {
    const path = resourcePath(SECRETS, namespace, secret.metadata.name);
    paths.push(path);
    if (secret.metadata.name === names.ingestAuthSecret) {
      ingestAuth = secret;
      continue;
    }
    const user = userBySecret.get(secret.metadata.name);
    const existing = live.get(path);
    if (existing) {
      // Listed by the stack label, which anyone who can write Secrets can set: the owner reference decides.
      if (isControlledBy(existing, owner.uid)) data.set(secret.metadata.name, await withIngestionCredential(client, user, path, existing, random));
      else conflicts.push(ownershipConflict(existing, 'Secret'));
      continue;
    }
    const carried = user === undefined ? undefined : legacyUserData(live.get(resourcePath(SECRETS, namespace, names.legacyUserSecret(user))), user, owner.uid);
    const values = { ...secret.stringData, ...carried };
    try {
      await client.request('POST', resourcePath(SECRETS, namespace), { body: toObject(secret, owner, values) });
      data.set(secret.metadata.name, values);
      created.push(secret.metadata.name);
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Created meanwhile (another replica, or a reconcile that died after the create): keep it if it is ours.
      const current = await client.request<KubeObject>('GET', path);
      if (isControlledBy(current, owner.uid)) data.set(secret.metadata.name, await withIngestionCredential(client, user, path, current, random));
      else conflicts.push(ownershipConflict(current, 'Secret'));
    }
  }
  if (conflicts.length > 0) throw new ObjectConflictError(conflicts);
  const lines = stack.spec.access.users.map((user) => htpasswdLine(user.name, data.get(names.userSecret(user.name))![SECRET_KEYS.ingestToken]!));
  const htpasswd = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return { data, created, paths, ingestAuth: toObject(ingestAuth!, owner, { [SECRET_KEYS.htpasswd]: htpasswd }), ingestAuthDigest: htpasswdDigest(htpasswd) };
}

/**
 * A user Secret of this stack without an ingestion token (its key removed by hand) gets one,
 * so that the htpasswd file never lacks a line; the query password stays as it was. Secrets of
 * 0.1, under their old name, are carried over in legacyUserData instead. `user` is undefined for
 * the stack's other generated Secrets.
 */
async function withIngestionCredential(client: KubeClient, user: string | undefined, path: string, existing: KubeObject, random?: RandomSource): Promise<SecretData> {
  const current = decodeSecretData(existing);
  if (user === undefined || current[SECRET_KEYS.ingestToken] !== undefined) return current;
  const added = ingestionCredential(user, random);
  // The resourceVersion makes the patch conditional: a concurrent change (409) retries the reconcile.
  await client.request('PATCH', path, {
    body: { metadata: { resourceVersion: existing.metadata.resourceVersion }, data: encode(added) },
    contentType: 'application/merge-patch+json',
  });
  return { ...current, ...added };
}

/**
 * A user's credentials under the pre-v0.2 Secret name (`<stack>-user-<user>`), carried over to the
 * new name so that handed-out passwords stay valid across the upgrade. Only from a Secret this stack
 * controls and that was made for this user: the old name of one stack's user could be another
 * stack's Secret. The ingestion token comes along only if it had one (otherwise the new one is
 * fresh). The prune then deletes the old Secret.
 */
function legacyUserData(legacy: KubeObject | undefined, user: string, ownerUid: string): SecretData | undefined {
  if (!legacy || !isControlledBy(legacy, ownerUid)) return undefined;
  const values = decodeSecretData(legacy);
  if (values[SECRET_KEYS.username] !== user || !values[SECRET_KEYS.password]) return undefined;
  const query = [SECRET_KEYS.username, SECRET_KEYS.password, SECRET_KEYS.passwordSha256];
  const ingestion = values[SECRET_KEYS.ingestToken] !== undefined ? [SECRET_KEYS.ingestToken, SECRET_KEYS.otlpAuthorization] : [];
  return Object.fromEntries([...query, ...ingestion].filter((key) => values[key] !== undefined).map((key) => [key, values[key]!]));
}

/** A Secret the spec names: the field, the Secret, the keys it must hold. */
export interface SecretReference {
  readonly field: string;
  readonly name: string;
  readonly keys: readonly string[];
}

export function secretReferences(stack: TelemetryStack): SecretReference[] {
  const out: SecretReference[] = [];
  const headers = stack.spec.upstream?.headersSecret;
  if (headers) out.push({ field: 'spec.upstream.headersSecret', name: headers.name, keys: [headers.key] });
  const credentials = stack.spec.clickhouse.mode === 'external' ? stack.spec.clickhouse.external?.credentialsSecret : undefined;
  if (credentials) out.push({ field: 'spec.clickhouse.external.credentialsSecret', name: credentials.name, keys: [credentials.usernameKey, credentials.passwordKey] });
  // Mounted, not sent: but a private key the collector serves with lets it speak as whatever the certificate names,
  // and a CA decides whom the collector trusts with the upstream credential; the same mark applies.
  const tls = stack.spec.collector.tls;
  if (tls) out.push({ field: 'spec.collector.tls.secretName', name: tls.secretName, keys: ['tls.crt', 'tls.key'] });
  const ca = stack.spec.upstream?.caSecret;
  if (ca) out.push({ field: 'spec.upstream.caSecret', name: ca.name, keys: [ca.key] });
  // A pull secret is handed to the kubelet, not read, but it is still a credential the stack would
  // use on its author's say-so: the same mark decides.
  const components = [
    ['collector', stack.spec.collector],
    ...(stack.spec.clickhouse.mode === 'inCluster' ? [['clickhouse', stack.spec.clickhouse] as const] : []),
    ...(stack.spec.grafana.enabled ? [['grafana', stack.spec.grafana] as const] : []),
  ] as const;
  for (const [component, settings] of components) {
    (settings.imagePullSecrets ?? []).forEach((name, index) => out.push({ field: `spec.${component}.imagePullSecrets[${index}]`, name, keys: ['.dockerconfigjson'] }));
  }
  return out;
}

/** Why a referenced Secret may not be read or referenced, in one line with the field, the Secret and the fix; undefined when it may. */
export function refusedReference(reference: SecretReference, namespace: string, secret: KubeObject | undefined): string | undefined {
  const label = `kubectl label secret ${reference.name} -n ${namespace} ${REFERENCEABLE_LABEL}=true`;
  const keys = reference.keys.map((key) => `"${key}"`).join(', ');
  if (!secret) return `${reference.field}: Secret "${reference.name}" does not exist in namespace "${namespace}"; create it with key(s) ${keys}, then: ${label}`;
  if (secret.metadata.labels?.[REFERENCEABLE_LABEL] !== 'true') {
    return `${reference.field}: Secret "${reference.name}" is not labelled ${REFERENCEABLE_LABEL}=true, so no stack may read or send it; if it is meant for this stack, whoever may write that Secret runs: ${label}`;
  }
  const missing = reference.keys.filter((key) => (secret.data as Record<string, string> | undefined)?.[key] === undefined);
  if (missing.length > 0) return `${reference.field}: Secret "${reference.name}" lacks key(s) ${missing.map((key) => `"${key}"`).join(', ')}`;
  return undefined;
}

/** Every Secret the spec names exists, carries REFERENCEABLE_LABEL=true and has its keys; otherwise a SecretReferenceError naming each. */
export async function checkSecretReferences(client: KubeClient, stack: TelemetryStack): Promise<void> {
  const namespace = stack.metadata.namespace!;
  const problems: string[] = [];
  for (const reference of secretReferences(stack)) {
    const problem = refusedReference(reference, namespace, await getSecret(client, namespace, reference.name));
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new SecretReferenceError(problems.join('; '));
}

async function getSecret(client: KubeClient, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.request<KubeObject>('GET', resourcePath(SECRETS, namespace, name));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A Secret the spec names may not be read or referenced (missing, not labelled referenceable, or lacking a key). */
export class SecretReferenceError extends Error {
  override readonly name = 'SecretReferenceError';
}

/** The external ClickHouse's administrative credentials, from the Secret the spec names (only when it is referenceable). */
export async function readExternalCredentials(client: KubeClient, stack: TelemetryStack): Promise<{ username: string; password: string }> {
  const namespace = stack.metadata.namespace!;
  const secret = stack.spec.clickhouse.external!.credentialsSecret;
  const reference = secretReferences(stack).find((candidate) => candidate.field === 'spec.clickhouse.external.credentialsSecret')!;
  const object = await getSecret(client, namespace, secret.name);
  const problem = refusedReference(reference, namespace, object);
  if (problem) throw new SecretReferenceError(problem);
  const values = decodeSecretData(object!);
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
