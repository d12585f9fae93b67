/**
 * What the operator may do, and nothing more. OPERATOR_STACK_RULES are what it needs in a
 * namespace that holds stacks: a ClusterRole by default (stacks may live in any namespace), or a
 * Role in each watched namespace for a namespaced install (`synth --install --watch-namespace`),
 * which keeps Secrets elsewhere out of its reach. Leader election only in its own namespace.
 *
 * Owned kinds get no `update`: the operator writes them with server-side apply (PATCH),
 * creates generated Secrets with POST, and prunes with DELETE. It creates per-user Roles
 * granting `get` on one Secret and binds them; RBAC allows that without `bind` or
 * `escalate` because the operator itself holds `get` on Secrets.
 */
import type { k8s } from 'cdk8s-plus-28';
import { API_GROUP, PLURAL } from '../../api/constants.ts';

type PolicyRule = k8s.PolicyRule;

const OWNED_VERBS = ['get', 'list', 'watch', 'create', 'patch', 'delete'];

/** The kinds a stack is made of: what src/charts renders, the generated Secrets, per-user RBAC. */
export const OWNED_KINDS: readonly { readonly group: string; readonly resource: string }[] = [
  { group: '', resource: 'configmaps' },
  { group: '', resource: 'secrets' },
  { group: '', resource: 'services' },
  { group: 'apps', resource: 'deployments' },
  { group: 'apps', resource: 'statefulsets' },
  { group: 'networking.k8s.io', resource: 'networkpolicies' },
  { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
];

function byGroup(): PolicyRule[] {
  const groups = new Map<string, string[]>();
  for (const { group, resource } of OWNED_KINDS) groups.set(group, [...(groups.get(group) ?? []), resource]);
  return [...groups].map(([group, resources]) => ({ apiGroups: [group], resources, verbs: [...OWNED_VERBS] }));
}

export const OPERATOR_STACK_RULES: readonly PolicyRule[] = [
  // Its own resource: watch every stack, add/remove its finalizer (merge patch), write status.
  { apiGroups: [API_GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [API_GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
  // Owner references with blockOwnerDeletion need update on the owner's finalizers
  // (OwnerReferencesPermissionEnforcement admission).
  { apiGroups: [API_GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  ...byGroup(),
  // Growing ClickHouse's claims when clickhouse.storage.size is raised (src/operator/storage.ts).
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'patch'] },
  // Events on stacks (Warning on an invalid spec, Normal on progress).
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** In the operator's namespace only: the leader-election Lease (read, created once, renewed with PUT). */
export const OPERATOR_NAMESPACE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
