/**
 * Per-user RBAC: a user entry that names a Kubernetes subject gets a Role allowing `get`
 * on exactly their own credential Secret (resourceNames), and a RoleBinding of that Role
 * to the subject. Pure builders, like the chart's.
 */
import type { TelemetryStack } from '../api/resource.ts';
import { componentLabels } from '../charts/labels.ts';
import { dnsLabel, stackNames } from '../charts/naming.ts';
import type { KubeObject } from './kube.ts';

export function userAccessObjects(stack: TelemetryStack): KubeObject[] {
  const stackName = stack.metadata.name;
  const namespace = stack.metadata.namespace;
  const names = stackNames(stackName);
  const labels = componentLabels(stackName, 'access');
  const objects: KubeObject[] = [];
  for (const user of stack.spec.access.users) {
    if (!user.subject) continue;
    const name = dnsLabel(stackName, 'user', user.name, 'credentials');
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
