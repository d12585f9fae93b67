/** Finding the TelemetryStack a command is about, with errors that list what does exist. */
import { API_GROUP, API_VERSION, CRD_NAME, KIND, PLURAL } from '../../api/constants.ts';
import type { TelemetryStack } from '../../api/resource.ts';
import type { Condition } from '../../api/status.ts';
import { validateStack } from '../../api/validate.ts';
import { UserError } from '../framework/io.ts';
import { type Kube, requestFailed } from './connection.ts';

export const INSTALL_HINT = 'install it with "telemetry-stack up" (kind) or "telemetry-stack up --context CTX" (an existing cluster)';

export function stackPath(namespace: string, name?: string): string {
  return `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${PLURAL}${name ? `/${name}` : ''}`;
}

export const CRD_PATH = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`;

/** What the cluster holds for a stack: the validated spec (defaults applied) and the status as the operator wrote it. */
export interface ClusterStack {
  readonly stack: TelemetryStack;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly status: RawStatus;
}

export interface RawStatus {
  readonly observedGeneration?: number;
  readonly conditions?: Condition[];
  readonly endpoints?: { otlpGrpc?: string; otlpHttp?: string; clickhouseHttp?: string };
  readonly users?: number;
  readonly appliedRetention?: { eventsDays?: number; metricsDays?: number; rollupsDays?: number };
}

interface RawStack {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; generation?: number };
  spec?: unknown;
  status?: RawStatus;
}

export interface StackSelector {
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

const label = (s: RawStack) => `${s.metadata.namespace}/${s.metadata.name}`;

async function listStacks(kube: Kube, namespace: string | undefined): Promise<RawStack[]> {
  const path = namespace ? stackPath(namespace) : `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;
  const response = await kube.request<{ items: RawStack[] }>('GET', path);
  if (response.status === 404) {
    throw new UserError(`the ${KIND} resource type is not installed in this cluster (context "${kube.context}": no CRD ${CRD_NAME}).\nFix: ${INSTALL_HINT}.`);
  }
  if (response.status === 403 && !namespace) {
    throw new UserError(
      `you may not list ${KIND}s across all namespaces (context "${kube.context}"): HTTP 403.\nFix: name the stack's namespace with -n NS (and the stack with --stack NAME).`,
    );
  }
  if (response.status >= 300) throw requestFailed(kube, `listing ${KIND}s`, response);
  return response.body.items ?? [];
}

/** The one stack the selector names; a clear error when there is none or more than one. */
export async function findStack(kube: Kube, selector: StackSelector): Promise<ClusterStack> {
  const namespace = selector.namespace;
  const all = await listStacks(kube, namespace);
  const matching = selector.name ? all.filter((s) => s.metadata.name === selector.name) : all;
  const where = namespace ? `in namespace "${namespace}"` : 'in any namespace';
  if (matching.length === 0) {
    const wanted = selector.name ? `no ${KIND} named "${selector.name}" ${where}` : `no ${KIND} ${where}`;
    const existing = all.length > 0 ? `; stacks there: ${all.map(label).join(', ')}` : '';
    throw new UserError(
      `${wanted} (context "${kube.context}")${existing}.\nFix: ${all.length > 0 ? 'pass one of those with -n NS --stack NAME' : `create one with "telemetry-stack up -f stack.yaml" (examples/local.yaml is a start)`}.`,
    );
  }
  if (matching.length > 1) {
    throw new UserError(`${matching.length} ${KIND}s ${where}: ${matching.map(label).join(', ')}.\nFix: choose one with -n NS --stack NAME.`);
  }
  return fromRaw(matching[0]!);
}

export function fromRaw(raw: RawStack): ClusterStack {
  const validated = validateStack({
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    metadata: { name: raw.metadata.name, namespace: raw.metadata.namespace },
    spec: raw.spec ?? {},
  });
  if (!validated.ok) {
    const problems = validated.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    throw new UserError(`${KIND} ${label(raw)} in the cluster is not valid for this version of telemetry-stack:\n${problems}\nFix: correct the resource (kubectl edit ${PLURAL}/${raw.metadata.name} -n ${raw.metadata.namespace}) or use the matching CLI version.`);
  }
  return {
    stack: validated.stack,
    namespace: raw.metadata.namespace,
    name: raw.metadata.name,
    generation: raw.metadata.generation,
    status: raw.status ?? {},
  };
}
