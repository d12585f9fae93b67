/**
 * The restricted Pod Security Standard, applied to every pod the chart renders:
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.
 * Typed with the L1 construct props so the chart passes them straight through.
 */
import type { k8s } from 'cdk8s-plus-28';

export function restrictedPodSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurityContext(): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
