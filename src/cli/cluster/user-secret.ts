/** A stack user's credential Secret, read with errors that say why it cannot be read and what to do. */
import { PLURAL } from '../../api/constants.ts';
import { stackNames } from '../../stack/naming.ts';
import { UserError } from '../framework/io.ts';
import { type Kube, requestFailed } from './connection.ts';
import type { ClusterStack } from './stacks.ts';

/** Checks that `user` is in the stack's spec; the error lists who is. */
export function requireUser(found: ClusterStack, user: string): void {
  const users = found.stack.spec.access.users.map((u) => u.name);
  if (users.includes(user)) return;
  throw new UserError(
    `"${user}" is not a user of stack ${found.namespace}/${found.name}; its users: ${users.length > 0 ? users.join(', ') : '(none)'}.\n` +
      `Fix: pass one of those with --user, or ask its admin to add you under spec.access.users (kubectl edit ${PLURAL}/${found.name} -n ${found.namespace}).`,
  );
}

/** One key of the user's Secret, decoded. The value never appears in an error. */
export async function readUserSecretKey(kube: Kube, found: ClusterStack, user: string, key: string): Promise<string> {
  const secretName = stackNames(found.name).userSecret(user);
  const response = await kube.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${found.namespace}/secrets/${secretName}`);
  if (response.status === 404) {
    throw new UserError(
      `Secret ${found.namespace}/${secretName} with ${user}'s credentials does not exist yet: the operator creates it when it reconciles the stack.\n` +
        `Fix: check that the operator is running and the stack is Ready ("telemetry-stack doctor -n ${found.namespace} --stack ${found.name}"), then run this again.`,
    );
  }
  if (response.status === 403) {
    throw new UserError(
      `you may not read Secret ${found.namespace}/${secretName} (HTTP 403).\n` +
        `Fix: ask the stack's admin to set spec.access.users[name=${user}].subject to your Kubernetes user or group; the operator then lets you read your own Secret (and no other).`,
    );
  }
  if (response.status >= 300) throw requestFailed(kube, `reading Secret ${found.namespace}/${secretName}`, response);
  const encoded = response.body.data?.[key];
  if (!encoded) {
    throw new UserError(
      `Secret ${found.namespace}/${secretName} has no "${key}" key: it was not created by this version of the operator.\n` +
        `Fix: delete the Secret (kubectl delete secret -n ${found.namespace} ${secretName}) so that the operator generates it again; the old password stops working.`,
    );
  }
  return Buffer.from(encoded, 'base64').toString('utf8');
}
