/**
 * Every API call the operator makes, as RBAC rules: the install chart's ClusterRole must
 * grant exactly these (the impersonation test in test/operator-cluster.test.ts checks that
 * the operator succeeds with them). Keep in step with src/operator/*.ts.
 *
 * | group                 | resource                       | verbs                                   | why                                                        |
 * |-----------------------|--------------------------------|-----------------------------------------|------------------------------------------------------------|
 * | telemetrystack.io     | telemetrystacks                | get list watch patch                    | read stacks; patch = server-side apply of the finalizer    |
 * | telemetrystack.io     | telemetrystacks/status         | get patch update                        | server-side apply of status                                |
 * | telemetrystack.io     | telemetrystacks/finalizers     | update                                  | ownerReferences with blockOwnerDeletion on owned objects   |
 * | "" (core)             | configmaps services            | get list watch create patch delete      | apply + prune rendered objects                             |
 * | "" (core)             | secrets                        | get list watch create patch delete      | generated credentials (create if missing), htpasswd, prune |
 * | apps                  | statefulsets                   | get list watch create patch delete      | collector and ClickHouse workloads                         |
 * | networking.k8s.io     | networkpolicies                | get list watch create patch delete      | stack network policies                                     |
 * | rbac.authorization.k8s.io | roles rolebindings         | get list watch create patch delete      | per-user read access to their own credential Secret       |
 * | "" (core)             | events                         | create patch                            | Warning events on invalid specs                            |
 * | events.k8s.io         | events                         | create patch                            | (same, newer API; harmless to grant)                       |
 * | coordination.k8s.io   | leases                         | get create update                       | leader election (namespace of the operator)                |
 *
 * Creating Roles that grant `get` on Secrets requires that the operator itself holds `get`
 * on Secrets (RBAC escalation check), which the secrets rule above provides.
 */

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const OWNED_VERBS = ['get', 'list', 'watch', 'create', 'patch', 'delete'] as const;

export const OPERATOR_RULES: readonly PolicyRule[] = [
  { apiGroups: ['telemetrystack.io'], resources: ['telemetrystacks'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['telemetrystack.io'], resources: ['telemetrystacks/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['telemetrystack.io'], resources: ['telemetrystacks/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['configmaps', 'services', 'secrets'], verbs: OWNED_VERBS },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: OWNED_VERBS },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: OWNED_VERBS },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: OWNED_VERBS },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
