/**
 * Where a component's pods run and how their images are pulled: the fields every Helm chart of
 * a cluster component offers (nodeSelector, tolerations, affinity, priorityClassName,
 * imagePullSecrets), with the shapes of the Kubernetes core API. They are checked here, field by
 * field, rather than passed through as opaque objects: a mistyped affinity would otherwise reach
 * the API server only when the operator applies the workload, and come back as its message about
 * a StatefulSet, not about the line of the stack that is wrong.
 */
import { z } from 'zod';
import { REFERENCEABLE_LABEL } from './constants.ts';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** An optional DNS-subdomain prefix and "/", then a name of up to 63 characters (a label key). */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const labelKey = z.string().min(1).max(316).regex(LABEL_KEY, { message: 'must be a label key such as "kubernetes.io/arch" or "disktype"' });
const labelValue = z
  .string()
  .max(63)
  .regex(LABEL_VALUE, { message: 'must be a label value: up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit' })
  .describe('A label value.');

/** A map from label keys to label values. The CRD cannot constrain map keys, so the keys are checked by zod (synth, the operator). */
const labelMap = (description: string) =>
  z
    .record(z.string(), labelValue)
    .superRefine((map, ctx) => {
      for (const key of Object.keys(map)) {
        if (!labelKey.safeParse(key).success) ctx.addIssue({ code: 'custom', message: `"${key}" is not a label key (e.g. "kubernetes.io/arch" or "disktype")`, path: [key] });
      }
    })
    .describe(description);

const Toleration = z
  .object({
    key: labelKey.optional().describe('The taint key the toleration applies to; empty with operator Exists matches every taint.'),
    operator: z.enum(['Exists', 'Equal']).default('Equal').describe('Equal matches the taint\'s value; Exists matches any value.'),
    value: labelValue.optional().describe('The taint value to match (operator Equal).'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('The taint effect to match; unset matches every effect.'),
    tolerationSeconds: z.number().int().min(0).optional().describe('With effect NoExecute: how long the pod stays bound after the taint appears.'),
  })
  .strict()
  .describe('A taint the pods tolerate.');

const LabelSelectorRequirement = z
  .object({
    key: labelKey.describe('The label key the requirement applies to.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('How the key relates to the values.'),
    values: z.array(labelValue).max(64).optional().describe('Label values; empty for Exists and DoesNotExist.'),
  })
  .strict()
  .describe('A requirement on a label.');

const LabelSelector = z
  .object({
    matchLabels: labelMap('Labels the pods must carry.').optional(),
    matchExpressions: z.array(LabelSelectorRequirement).max(16).optional().describe('Label requirements, all of which must hold.'),
  })
  .strict();

const NodeSelectorRequirement = z
  .object({
    key: z.string().min(1).max(316).describe('The node label (or, in matchFields, the node field) the requirement applies to.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']).describe('How the key relates to the values.'),
    values: z.array(z.string().max(63).describe('A value.')).max(64).optional().describe('Values; one integer for Gt and Lt, none for Exists and DoesNotExist.'),
  })
  .strict()
  .describe('A requirement on a node label or field.');

const NodeSelectorTerm = z
  .object({
    matchExpressions: z.array(NodeSelectorRequirement).max(16).optional().describe('Requirements on node labels, all of which must hold.'),
    matchFields: z.array(NodeSelectorRequirement).max(16).optional().describe('Requirements on node fields (metadata.name), all of which must hold.'),
  })
  .strict()
  .describe('A node selector term.');

const weight = z.number().int().min(1).max(100).describe('Weight of this preference (1-100) among the others.');

const PodAffinityTerm = z
  .object({
    labelSelector: LabelSelector.optional().describe('The pods this term is about.'),
    namespaces: z.array(z.string().max(63).describe('A namespace.')).max(16).optional().describe('Namespaces of those pods; unset means the stack\'s namespace.'),
    namespaceSelector: LabelSelector.optional().describe('Namespaces of those pods, by label.'),
    topologyKey: labelKey.describe('The node label whose value groups nodes, e.g. "kubernetes.io/hostname" or "topology.kubernetes.io/zone".'),
  })
  .strict()
  .describe('Pods, and the topology domain in which the term is about them.');

const PodAffinity = z
  .object({
    requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTerm).max(16).optional().describe('Terms that must hold for the pod to be scheduled.'),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(z.object({ weight, podAffinityTerm: PodAffinityTerm.describe('The term.') }).strict().describe('A weighted term.'))
      .max(16)
      .optional()
      .describe('Terms the scheduler prefers, by weight.'),
  })
  .strict();

const Affinity = z
  .object({
    nodeAffinity: z
      .object({
        requiredDuringSchedulingIgnoredDuringExecution: z
          .object({ nodeSelectorTerms: z.array(NodeSelectorTerm).min(1).max(16).describe('Terms of which at least one must hold.') })
          .strict()
          .optional()
          .describe('Node requirements that must hold for the pod to be scheduled.'),
        preferredDuringSchedulingIgnoredDuringExecution: z
          .array(z.object({ weight, preference: NodeSelectorTerm.describe('The node term.') }).strict().describe('A weighted node term.'))
          .max(16)
          .optional()
          .describe('Node terms the scheduler prefers, by weight.'),
      })
      .strict()
      .optional()
      .describe('Which nodes the pods may or should run on.'),
    podAffinity: PodAffinity.optional().describe('Pods these pods should run near (same topology domain).'),
    podAntiAffinity: PodAffinity.optional().describe('Pods these pods should run apart from (different topology domains).'),
  })
  .strict();

/**
 * The scheduling and pull fields of one component, spread into its object. Nothing is set by
 * default: the pods go wherever the cluster's scheduler puts them, as before.
 */
export function schedulingFields(what: string) {
  return {
    nodeSelector: labelMap(`Node labels ${what} must run on (pod spec nodeSelector), e.g. {"kubernetes.io/arch": "amd64"}.`).optional(),
    tolerations: z.array(Toleration).max(32).optional().describe(`Taints that ${what} may run despite (pod spec tolerations), e.g. to use dedicated nodes.`),
    affinity: Affinity.optional().describe(`Node and pod (anti-)affinity for ${what}, as in a pod spec.`),
    priorityClassName: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS_SUBDOMAIN, { message: 'must be a PriorityClass name (DNS subdomain)' })
      .optional()
      .describe(`PriorityClass of ${what}; the class must exist in the cluster.`),
    imagePullSecrets: z
      .array(z.string().min(1).max(253).regex(DNS_SUBDOMAIN, { message: 'must be a Secret name (DNS subdomain)' }).describe('A Secret name.'))
      .max(8)
      .optional()
      .describe(
        `Names of kubernetes.io/dockerconfigjson Secrets in the stack's namespace that ${what} pulls its image with (a private registry or mirror). Like every Secret a stack names, each must be labelled ${REFERENCEABLE_LABEL}=true.`,
      ),
  };
}

/** What the chart puts into a pod spec from those fields. */
export interface Scheduling {
  readonly nodeSelector?: Record<string, string> | undefined;
  readonly tolerations?: readonly z.output<typeof Toleration>[] | undefined;
  readonly affinity?: z.output<typeof Affinity> | undefined;
  readonly priorityClassName?: string | undefined;
  readonly imagePullSecrets?: readonly string[] | undefined;
}
