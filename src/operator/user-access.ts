/**
 * Per-user RBAC: a user entry that names a Kubernetes subject gets a Role allowing `get`
 * on exactly their own credential Secret (resourceNames), and a RoleBinding of that Role
 * to the subject. Pure builders, like the chart's.
 *
 * Why a stack editor may grant this: the Secret is one the stack generated for that user
 * (a per-user name no other stack or component can have, see naming.ts) and that the
 * reconcile has verified this stack controls before anything is applied (apply.ts
 * preflight, credentials.ts). It holds nothing the editor does not already command: the
 * editor chooses the users and their roles, and where telemetry is forwarded.
 */
import type { TelemetryStack } from '../api/resource.ts';
import { componentLabels } from '../stack/labels.ts';
import { stackNames } from '../stack/naming.ts';
import type { KubeObject } from '../kube/client.ts';

export function userAccessObjects(stack: TelemetryStack): KubeObject[] {
  const stackName = stack.metadata.name;
  const namespace = stack.metadata.namespace;
  const names = stackNames(stackName);
  const labels = componentLabels(stackName, 'access');
  const objects: KubeObject[] = [];
  for (const user of stack.spec.access.users) {
    if (!user.subject) continue;
    const name = names.userAccess(user.name);
    const metadata = { name, ...(namespace ? { namespace } : {}), labels };
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [names.userSecret(user.name)], verbs: ['get'] }],
    });
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: user.subject.kind, name: user.subject.name }],
    });
  }
  return objects;
}
