/**
 * The API resources the operator reads and writes, and their REST paths.
 *
 * Every API call the operator makes (the install chart's ClusterRole, src/charts/install/rbac.ts,
 * must allow these; test/operator-cluster.test.ts runs the operator as that ServiceAccount):
 *   telemetrystack.io telemetrystacks             get list watch, patch (server-side apply of the finalizer)
 *   telemetrystack.io telemetrystacks/status      patch (server-side apply of status)
 *   telemetrystack.io telemetrystacks/finalizers  update (ownerReferences with blockOwnerDeletion)
 *   "" configmaps services secrets, apps statefulsets deployments, networking.k8s.io networkpolicies,
 *   rbac.authorization.k8s.io roles rolebindings  get list watch, patch (apply), create (Secrets), delete (prune)
 *   "" events                                     create
 *   "" persistentvolumeclaims                     get patch (growing ClickHouse's claims, storage.ts)
 *   coordination.k8s.io leases (own namespace)    get create update
 * Creating Roles that grant `get` on a Secret needs no `escalate`/`bind`: the operator holds `get` on Secrets.
 */
import { API_GROUP, API_VERSION, PLURAL } from '../api/constants.ts';

export interface ApiResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
}

export const STACKS: ApiResource = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'TelemetryStack', plural: PLURAL };
export const LEASES: ApiResource = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases' };
export const EVENTS: ApiResource = { apiVersion: 'v1', kind: 'Event', plural: 'events' };

/**
 * Kinds a stack owns: what the chart renders plus generated Secrets and per-user RBAC.
 * They are watched (by the stack label) and pruned. PVCs from volumeClaimTemplates are not:
 * data outlives a re-render, and the StatefulSet controller owns them.
 */
export const OWNED: readonly ApiResource[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  // Grafana, and the collector when its persistent queue is off.
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings' },
];

export function resourceOf(apiVersion: string, kind: string): ApiResource {
  const found = OWNED.find((resource) => resource.apiVersion === apiVersion && resource.kind === kind);
  if (!found) throw new Error(`the operator does not manage ${apiVersion} ${kind}; add it to OWNED in src/operator/resources.ts`);
  return found;
}

/** /api/v1/namespaces/ns/configmaps[/name[/sub]] or /apis/group/version/...; no namespace lists across all namespaces. */
export function resourcePath(resource: ApiResource, namespace?: string, name?: string, subresource?: string): string {
  const base = resource.apiVersion.includes('/') ? `/apis/${resource.apiVersion}` : `/api/${resource.apiVersion}`;
  let path = namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}` : `${base}/${resource.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

export const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
