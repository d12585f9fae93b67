/**
 * The restricted Pod Security Standard, applied to every pod the chart renders:
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.
 * Typed with the L1 construct props so the chart passes them straight through.
 */
import type { k8s } from 'cdk8s-plus-28';
import type { Scheduling } from '../api/scheduling.ts';
import { CONFIG_HASH_ANNOTATION } from '../stack/hash.ts';

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

export interface RestrictedPodOptions {
  readonly labels: Record<string, string>;
  /** Hash of the pods' configuration: a change rolls them (never a timestamp). */
  readonly configHash: string;
  /** Further pod annotations that roll the pods when they change (hashes only, never secret values). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The image's non-root user. */
  readonly uid: number;
  readonly terminationGracePeriodSeconds: number;
  readonly containers: readonly Omit<k8s.Container, 'securityContext'>[];
  readonly volumes: readonly k8s.Volume[];
  /** The component's scheduling and pull fields from the spec. */
  readonly scheduling?: Scheduling;
}

/** The pod-spec fields of a component's scheduling settings; unset ones are left out, so a stack without them renders as before. */
function schedulingSpec(scheduling: Scheduling = {}): Partial<k8s.PodSpec> {
  const { nodeSelector, tolerations, affinity, priorityClassName, imagePullSecrets } = scheduling;
  return {
    ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    ...(tolerations?.length ? { tolerations: tolerations.map((toleration) => ({ ...toleration })) } : {}),
    ...(affinity ? { affinity: affinity as k8s.Affinity } : {}),
    ...(priorityClassName ? { priorityClassName } : {}),
    ...(imagePullSecrets?.length ? { imagePullSecrets: imagePullSecrets.map((name) => ({ name })) } : {}),
  };
}

/**
 * Every pod the chart renders is built here, so the restricted profile, the config-hash
 * annotation and the absence of API credentials hold for all of them by construction.
 */
export function restrictedPodTemplate(options: RestrictedPodOptions): k8s.PodTemplateSpec {
  return {
    metadata: { labels: options.labels, annotations: { [CONFIG_HASH_ANNOTATION]: options.configHash, ...options.annotations } },
    spec: {
      // The stack's pods never talk to the Kubernetes API.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: options.terminationGracePeriodSeconds,
      securityContext: restrictedPodSecurityContext(options.uid),
      containers: options.containers.map((container) => ({ ...container, securityContext: restrictedContainerSecurityContext() })),
      volumes: [...options.volumes],
      ...schedulingSpec(options.scheduling),
    },
  };
}
