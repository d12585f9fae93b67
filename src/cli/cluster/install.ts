/** The Kubernetes path of `up`: install the operator, apply a stack. Same for kind and an existing cluster. */
import { API_GROUP_VERSION, CRD_NAME, KIND } from '../../api/constants.ts';
import { OPERATOR_INSTALL_SELECTOR } from '../../charts/install/install-chart.ts';
import { validateStack } from '../../api/validate.ts';
import type { CommandIo } from '../framework/io.ts';
import { UserError } from '../framework/io.ts';
import { readStackFile } from '../stack-file/load.ts';
import type { KubeObject } from '../../kube/client.ts';
import { applyObject, ResourcePaths } from './apply.ts';
import { explain, getOptional, type Kube, requestFailed } from './connection.ts';
import { CRD_PATH } from './stacks.ts';

/** GET /version: proves the cluster answers and the credentials work, before anything is changed. */
export async function checkReachable(kube: Kube): Promise<string> {
  try {
    return (await kube.client.version()).gitVersion;
  } catch (error) {
    throw explain(kube, 'reading the Kubernetes version', error);
  }
}

export interface PollOptions {
  readonly sleep: (ms: number) => Promise<void>;
  readonly pollMs: number;
  readonly timeoutMs: number;
}

async function waitForCrd(kube: Kube, options: PollOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const crd = await getOptional<{ status?: { conditions?: { type: string; status: string }[] } }>(kube, CRD_PATH, `CustomResourceDefinition ${CRD_NAME}`);
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() >= deadline) throw new UserError(`CustomResourceDefinition ${CRD_NAME} was applied but is not Established after ${options.timeoutMs / 1000}s.\nFix: "kubectl describe crd ${CRD_NAME}" shows why.`);
    await options.sleep(options.pollMs);
  }
}

/**
 * Applies the install (CRD, RBAC, operator Deployment), waits for the CRD to be served, then
 * removes the operator RBAC of an earlier install that this one does not contain: switching
 * between cluster-wide and namespaced leaves no stale grant behind.
 */
export async function installOperator(kube: Kube, paths: ResourcePaths, objects: readonly KubeObject[], io: CommandIo, options: PollOptions, watchNamespaces: readonly string[] = []): Promise<void> {
  if (watchNamespaces.length > 0) io.stderr.write(`the operator watches only namespace(s) ${watchNamespaces.join(', ')}\n`);
  // A namespaced install's Roles live in the watched namespaces, which must exist first.
  for (const namespace of watchNamespaces) await applyObject(kube, paths, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  io.stderr.write(`installing the operator (${objects.length} objects)\n`);
  for (const object of objects) {
    await applyObject(kube, paths, object);
    if (object.kind === 'CustomResourceDefinition') await waitForCrd(kube, options);
  }
  const removed = await removeOperatorRbac(kube, objects);
  if (removed.length > 0) io.stderr.write(`removed the earlier install's ${removed.join(', ')}\n`);
}

const RBAC = [
  { kind: 'ClusterRole', plural: 'clusterroles' },
  { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings' },
  { kind: 'RoleBinding', plural: 'rolebindings' },
  { kind: 'Role', plural: 'roles' },
] as const;

/**
 * Deletes the operator's RBAC objects (by OPERATOR_INSTALL_SELECTOR, in every namespace) that are
 * not in `keep`; returns what it deleted. Kinds the caller may not list are left alone.
 */
export async function removeOperatorRbac(kube: Kube, keep: readonly KubeObject[]): Promise<string[]> {
  const kept = new Set(keep.map((object) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`));
  const removed: string[] = [];
  for (const { kind, plural } of RBAC) {
    const base = `/apis/rbac.authorization.k8s.io/v1/${plural}`;
    const list = await kube.request<{ items?: { metadata: { name: string; namespace?: string } }[] }>('GET', `${base}?labelSelector=${encodeURIComponent(OPERATOR_INSTALL_SELECTOR)}`);
    if (list.status === 403) continue;
    if (list.status >= 300) throw requestFailed(kube, `listing ${plural}`, list);
    for (const { metadata } of list.body.items ?? []) {
      if (kept.has(`${kind}/${metadata.namespace ?? ''}/${metadata.name}`)) continue;
      const path = metadata.namespace ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${metadata.namespace}/${plural}/${metadata.name}` : `${base}/${metadata.name}`;
      const response = await kube.request('DELETE', path);
      if (response.status >= 300 && response.status !== 404) throw requestFailed(kube, `deleting ${kind} ${metadata.name}`, response);
      removed.push(`${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`);
    }
  }
  return removed;
}

export interface StackToApply {
  readonly object: KubeObject;
  readonly namespace: string;
  readonly name: string;
}

/** Reads and validates the stack file before anything touches the cluster; a bare spec is named "telemetry" in namespace "telemetry". */
export function loadStackToApply(path: string): StackToApply {
  const { source, document } = readStackFile(path);
  const validated = validateStack(document, { name: 'telemetry', namespace: 'telemetry' });
  if (!validated.ok) {
    throw new UserError(`${source}: invalid ${KIND} (${validated.problems.length} problem${validated.problems.length > 1 ? 's' : ''}):\n${validated.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
  const name = validated.stack.metadata.name;
  const namespace = validated.stack.metadata.namespace ?? 'telemetry';
  // Apply what the person wrote, not the defaults: defaults belong to the API server and the operator.
  const resource = 'kind' in document ? structuredClone(document) : { apiVersion: API_GROUP_VERSION, kind: KIND, metadata: { name }, spec: document };
  const metadata = (resource.metadata ?? {}) as Record<string, unknown>;
  const object = { ...resource, metadata: { ...metadata, name, namespace } } as KubeObject;
  delete (object as { status?: unknown }).status;
  return { object, namespace, name };
}

export async function applyStack(kube: Kube, paths: ResourcePaths, stack: StackToApply, io: CommandIo): Promise<void> {
  await applyObject(kube, paths, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: stack.namespace } });
  io.stderr.write(`applying ${KIND} ${stack.namespace}/${stack.name}\n`);
  await applyObject(kube, paths, stack.object);
}
