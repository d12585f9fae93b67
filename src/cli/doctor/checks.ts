/**
 * The checks a person would run when telemetry does not show up, in the order the data
 * flows: cluster, clock, CRD, operator, stack, pods, credentials, events, disk, and then
 * fields the stack stored that the field tables do not know (a new client version). Each
 * failure carries the fix. Checks after a failure that makes them meaningless are skipped.
 */
import { CRD_NAME, KIND } from '../../api/constants.ts';
import { GiB } from '../../api/quantity.ts';
import { OPERATOR_INSTALL_SELECTOR } from '../../charts/install/install-chart.ts';
import { STACK_LABEL } from '../../stack/labels.ts';
import { stackNames } from '../../stack/naming.ts';
import type { UnknownField } from '../../clickhouse/unknown-fields.ts';
import { UserError } from '../framework/io.ts';
import { describeCondition, isReady, readyCondition } from '../cluster/conditions.ts';
import { KubeApiError } from '../../kube/client.ts';
import { durationWords } from '../framework/duration.ts';
import { explain, getOptional, type Kube, type KubeResponse } from '../cluster/connection.ts';
import { type OpenStackData, type StackData } from '../cluster/stack-data.ts';
import { type ClusterStack, CRD_PATH, findStack, INSTALL_HINT, type StackSelector } from '../cluster/stacks.ts';

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly name: string;
  readonly verdict: Verdict;
  readonly detail: string;
  readonly fix?: string;
}

/**
 * What doctor needs from the stack's ClickHouse. The query leg (port-forward to the
 * ClickHouse pod, authenticated as a stack user) provides it; until it is plugged in,
 * openData is undefined and these checks say so instead of guessing.
 */

export interface DoctorOptions {
  readonly selector: StackSelector;
  /** "Events arriving" means: at least one event in the last `sinceMs`. */
  readonly sinceMs: number;
  /** "Unknown fields" looks at what was stored in the last `fieldsDays` days. */
  readonly fieldsDays: number;
  readonly now: () => Date;
  readonly operator: { namespace: string; name: string };
  readonly openData: OpenStackData | undefined;
}

/** Above this the client's event timestamps and the server's "last N minutes" disagree visibly. */
export const CLOCK_SKEW_WARN_SECONDS = 10;
export const CLOCK_SKEW_FAIL_SECONDS = 60;

export async function clockSkewSeconds(kube: Kube, now: () => Date): Promise<{ skew: number | undefined; version: string; status: number }> {
  const before = now().getTime();
  let answer;
  try {
    answer = await kube.client.version();
  } catch (error) {
    if (error instanceof KubeApiError && error.status > 0) return { skew: undefined, version: 'unknown', status: error.status };
    throw explain(kube, 'reading the Kubernetes version', error);
  }
  const after = now().getTime();
  const skew = answer.serverDate ? (answer.serverDate.getTime() - (before + after) / 2) / 1000 : undefined;
  return { skew, version: answer.gitVersion, status: 200 };
}

function clockCheck(skew: number | undefined): CheckResult {
  const name = 'clock';
  if (skew === undefined) return { name, verdict: 'skip', detail: 'the API server sent no Date header' };
  // The Date header has one-second resolution.
  const seconds = Math.abs(skew) <= 1 ? 0 : Math.round(skew);
  const detail = seconds === 0 ? 'this machine and the API server agree' : `the API server's clock is ${Math.abs(seconds)}s ${seconds > 0 ? 'ahead of' : 'behind'} this machine`;
  if (Math.abs(seconds) < CLOCK_SKEW_WARN_SECONDS) return { name, verdict: 'ok', detail };
  return {
    name,
    verdict: Math.abs(seconds) >= CLOCK_SKEW_FAIL_SECONDS ? 'fail' : 'warn',
    detail: `${detail}; Claude Code stamps events with the client's clock, so recent events look old or in the future`,
    fix: 'turn on time synchronisation: Linux "sudo timedatectl set-ntp true"; macOS System Settings > General > Date & Time > Set automatically; for kind, restarting Docker resyncs its VM clock',
  };
}

async function crdCheck(kube: Kube): Promise<CheckResult> {
  const crd = await getOptional<{ status?: { conditions?: { type: string; status: string }[] } }>(kube, CRD_PATH, `CustomResourceDefinition ${CRD_NAME}`);
  if (!crd) return { name: 'CRD', verdict: 'fail', detail: `CustomResourceDefinition ${CRD_NAME} is not installed`, fix: INSTALL_HINT };
  const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  return established
    ? { name: 'CRD', verdict: 'ok', detail: `${CRD_NAME} is installed` }
    : { name: 'CRD', verdict: 'fail', detail: `${CRD_NAME} exists but is not Established`, fix: `"kubectl describe crd ${CRD_NAME}" shows why` };
}

interface DeploymentStatus {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string; args?: string[] }[] } } };
  status?: { availableReplicas?: number; conditions?: { type: string; status: string; message?: string }[] };
}

/** The namespaces a namespaced install watches (its `--namespace` argument), or undefined: all of them. */
function watchedNamespaces(deployment: DeploymentStatus): string[] | undefined {
  const args = deployment.spec?.template?.spec?.containers?.[0]?.args ?? [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const value = arg.startsWith('--namespace=') ? arg.slice('--namespace='.length) : arg === '--namespace' || arg === '-n' ? args[index + 1] : undefined;
    if (value !== undefined) return value.split(',').map((name) => name.trim()).filter(Boolean);
  }
  return undefined;
}

/**
 * A stack outside a namespaced install's list is never reconciled, and nothing else says why:
 * the operator cannot even see it. Only reported for a namespaced install.
 */
function scopeCheck(watched: readonly string[], found: ClusterStack): CheckResult {
  const name = 'operator scope';
  if (watched.includes(found.namespace)) return { name, verdict: 'ok', detail: `the operator watches ${watched.join(', ')}` };
  const flags = [...watched, found.namespace].map((namespace) => `--watch-namespace ${namespace}`).join(' ');
  return {
    name,
    verdict: 'fail',
    detail: `the operator watches only namespace(s) ${watched.join(', ')}, not ${found.namespace}: it cannot see this stack`,
    fix: `reinstall it with this namespace added: "telemetry-stack up --context CTX -f STACK.yaml ${flags}" (Helm: --set watchNamespaces='{${[...watched, found.namespace].join(',')}}')`,
  };
}

/**
 * The operator's Deployment where the install manifest puts it or, when it is not there (a Helm
 * release in its own namespace), wherever a Deployment carries the install's labels.
 */
async function findOperator(kube: Kube, expected: DoctorOptions['operator']): Promise<KubeResponse<DeploymentStatus> & { location: DoctorOptions['operator'] }> {
  const response = await kube.request<DeploymentStatus>('GET', `/apis/apps/v1/namespaces/${expected.namespace}/deployments/${expected.name}`);
  if (response.status !== 404) return { ...response, location: expected };
  const list = await kube.request<{ items?: (DeploymentStatus & { metadata: { name: string; namespace: string } })[] }>('GET', `/apis/apps/v1/deployments?labelSelector=${encodeURIComponent(OPERATOR_INSTALL_SELECTOR)}`);
  const found = list.status === 200 ? [...(list.body.items ?? [])].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))[0] : undefined;
  if (!found) return { ...response, location: expected };
  return { status: 200, body: found, location: { namespace: found.metadata.namespace, name: found.metadata.name } };
}

async function operatorCheck(kube: Kube, expected: DoctorOptions['operator']): Promise<CheckResult & { watched?: string[] }> {
  const name = 'operator';
  const response = await findOperator(kube, expected);
  const operator = response.location;
  const where = `Deployment ${operator.namespace}/${operator.name}`;
  if (response.status === 403) return { name, verdict: 'skip', detail: `you may not read ${where}` };
  if (response.status === 404) return { name, verdict: 'fail', detail: `${where} does not exist, nor any Deployment labelled ${OPERATOR_INSTALL_SELECTOR}`, fix: INSTALL_HINT };
  if (response.status >= 300) return { name, verdict: 'fail', detail: `reading ${where}: HTTP ${response.status}` };
  const available = response.body.status?.availableReplicas ?? 0;
  const wanted = response.body.spec?.replicas ?? 1;
  const watched = watchedNamespaces(response.body);
  const scope = watched ? { watched } : {};
  if (available > 0) return { name, verdict: 'ok', detail: `${where}: ${available}/${wanted} available`, ...scope };
  const condition = response.body.status?.conditions?.find((c) => c.status === 'False' && c.message);
  return {
    ...scope,
    name,
    verdict: 'fail',
    detail: `${where}: 0/${wanted} available${condition ? ` (${condition.message})` : ''}`,
    fix: `"kubectl get pods -n ${operator.namespace}" and "kubectl logs -n ${operator.namespace} deploy/${operator.name}"; on kind, ErrImagePull means the image was not loaded: run "telemetry-stack up" again`,
  };
}

function stackCheck(found: ClusterStack, now: Date): CheckResult {
  const name = 'stack Ready';
  const ready = readyCondition(found);
  if (!ready) {
    return { name, verdict: 'fail', detail: `${KIND} ${found.namespace}/${found.name} has no Ready condition: the operator has not reconciled it`, fix: 'check the operator (above) and its logs' };
  }
  if (isReady(found)) return { name, verdict: 'ok', detail: describeCondition(ready, now) };
  return {
    name,
    verdict: 'fail',
    detail: describeCondition(ready, now),
    fix: `"telemetry-stack status -n ${found.namespace} ${found.name}" for every condition; "kubectl get events -n ${found.namespace} --sort-by=.lastTimestamp" for what Kubernetes says`,
  };
}

interface PodList {
  items: {
    metadata: { name: string };
    status?: {
      phase?: string;
      conditions?: { type: string; status: string; reason?: string; message?: string }[];
      containerStatuses?: { name: string; ready: boolean; restartCount?: number; state?: { waiting?: { reason?: string; message?: string } }; lastState?: { terminated?: { reason?: string } } }[];
    };
  }[];
}

/** A pod's trouble in words with the fix for it, or undefined when it is ready. */
export function podTrouble(pod: PodList['items'][number]): { detail: string; fix: string } | undefined {
  const status = pod.status ?? {};
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return {
      detail: `${pod.metadata.name} cannot be scheduled: ${scheduled.message ?? scheduled.reason ?? 'unknown reason'}`,
      fix: /memory|cpu/i.test(scheduled.message ?? '')
        ? 'the node lacks memory or CPU: give Docker more memory (about 4 GiB for kind) or lower spec.*.resources.requests'
        : /persistentvolumeclaim|storage/i.test(scheduled.message ?? '')
          ? 'a volume cannot be provisioned: check the StorageClass (kubectl get storageclass) or set storageClassName'
          : '"kubectl describe pod" shows the scheduler\'s reasons',
    };
  }
  for (const container of status.containerStatuses ?? []) {
    if (container.ready) continue;
    const waiting = container.state?.waiting?.reason;
    const lastTerminated = container.lastState?.terminated?.reason;
    if (lastTerminated === 'OOMKilled') {
      return { detail: `${pod.metadata.name}/${container.name} was OOM-killed (${container.restartCount ?? 0} restarts)`, fix: 'raise its resources.limits.memory in the stack spec (and Docker\'s memory on kind)' };
    }
    if (waiting === 'ImagePullBackOff' || waiting === 'ErrImagePull' || waiting === 'InvalidImageName') {
      return { detail: `${pod.metadata.name}/${container.name}: ${waiting} (${container.state?.waiting?.message ?? ''})`.replace(/ \(\)$/, ''), fix: 'check the image name in the stack spec and that the cluster can reach the registry (or mirror it and set spec.*.image)' };
    }
    if (waiting === 'CrashLoopBackOff') {
      return { detail: `${pod.metadata.name}/${container.name} keeps crashing (${container.restartCount ?? 0} restarts)`, fix: `"kubectl logs ${pod.metadata.name} -c ${container.name} --previous" shows why` };
    }
    if (waiting === 'CreateContainerConfigError') {
      return { detail: `${pod.metadata.name}/${container.name}: ${container.state?.waiting?.message ?? waiting}`, fix: 'a Secret it reads is missing: the operator creates them; check the operator' };
    }
  }
  return undefined;
}

async function podsCheck(kube: Kube, found: ClusterStack): Promise<CheckResult> {
  const name = 'pods';
  const response = await kube.request<PodList>('GET', `/api/v1/namespaces/${found.namespace}/pods?labelSelector=${encodeURIComponent(`${STACK_LABEL}=${found.name}`)}`);
  if (response.status === 403) return { name, verdict: 'skip', detail: `you may not list pods in ${found.namespace}` };
  if (response.status >= 300) return { name, verdict: 'fail', detail: `listing pods: HTTP ${response.status}` };
  const pods = response.body.items;
  if (pods.length === 0) return { name, verdict: 'fail', detail: `no pods of stack ${found.name} in ${found.namespace}`, fix: 'the operator has not created the workloads yet: check the operator' };
  const troubles = pods.map(podTrouble).filter((t): t is { detail: string; fix: string } => t !== undefined);
  if (troubles.length === 0) {
    const notReady = pods.filter((p) => !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return notReady.length === 0
      ? { name, verdict: 'ok', detail: `${pods.length} pod(s) ready` }
      : { name, verdict: 'warn', detail: `${notReady.map((p) => p.metadata.name).join(', ')} not ready yet`, fix: 'wait a minute (ClickHouse takes ~30s to start), then run doctor again' };
  }
  return { name, verdict: 'fail', detail: troubles.map((t) => t.detail).join('; '), fix: troubles.map((t) => t.fix).join('; ') };
}

async function credentialsCheck(kube: Kube, found: ClusterStack): Promise<CheckResult> {
  const name = 'credentials';
  const names = stackNames(found.name);
  const missing: string[] = [];
  for (const user of found.stack.spec.access.users) {
    const response = await kube.request('GET', `/api/v1/namespaces/${found.namespace}/secrets/${names.userSecret(user.name)}`);
    if (response.status === 403) return { name, verdict: 'skip', detail: `you may not read Secrets in ${found.namespace} (team members can read only their own)` };
    if (response.status === 404) missing.push(user.name);
  }
  const users = found.stack.spec.access.users.length;
  return missing.length === 0
    ? { name, verdict: 'ok', detail: `${users} user Secret(s) exist` }
    : { name, verdict: 'fail', detail: `no credential Secret yet for ${missing.join(', ')}`, fix: 'the operator creates them when it reconciles; check the operator' };
}

async function dataChecks(kube: Kube, found: ClusterStack, options: DoctorOptions): Promise<CheckResult[]> {
  const cap = found.stack.spec.retention.maxDiskGiB;
  const skipData = (why: string): CheckResult[] => [
    { name: 'events arriving', verdict: 'skip', detail: why },
    { name: 'disk', verdict: 'skip', detail: why },
    { name: 'unknown fields', verdict: 'skip', detail: why },
  ];
  if (!options.openData) return skipData('no way to query the stack\'s ClickHouse was given');
  let data: StackData;
  try {
    data = await options.openData(kube, found);
  } catch (error) {
    if (error instanceof UserError) return skipData(error.message.split('\n')[0]!);
    throw error;
  }
  try {
    const now = options.now();
    const { count, newest } = await data.eventsSince(new Date(now.getTime() - options.sinceMs));
    const events: CheckResult =
      count > 0
        ? { name: 'events arriving', verdict: 'ok', detail: `${count} event(s) in the last ${durationWords(options.sinceMs)}${newest ? `, newest ${newest.toISOString()}` : ''}` }
        : {
            name: 'events arriving',
            verdict: 'fail',
            detail: `no events in the last ${durationWords(options.sinceMs)}`,
            fix:
              `in the shell that runs claude: "env | grep -E 'OTEL|CLAUDE_CODE_ENABLE'" must show the lines of "telemetry-stack env --user NAME -n ${found.namespace} --stack ${found.name}"; ` +
              'the endpoint must match the protocol (4318/30318 http/protobuf, 4317/30317 grpc); a 401 in the collector log means a wrong or rotated password (run env again); see docs/TROUBLESHOOTING.md',
          };
    const bytes = await data.diskBytes();
    const used = `${(bytes / GiB).toFixed(2)} GiB`;
    const disk: CheckResult =
      cap === undefined
        ? { name: 'disk', verdict: 'ok', detail: `telemetry tables use ${used}; no retention.maxDiskGiB cap set` }
        : bytes >= cap * GiB
          ? { name: 'disk', verdict: 'fail', detail: `telemetry tables use ${used}, at or above the cap of ${cap} GiB: the oldest days are being dropped`, fix: 'raise spec.retention.maxDiskGiB (and clickhouse.storage.size), or shorten retention' }
          : bytes >= cap * GiB * 0.8
            ? { name: 'disk', verdict: 'warn', detail: `telemetry tables use ${used} of the ${cap} GiB cap`, fix: 'the oldest days will be dropped soon: raise spec.retention.maxDiskGiB or shorten retention' }
            : { name: 'disk', verdict: 'ok', detail: `telemetry tables use ${used} of the ${cap} GiB cap` };
    return [events, disk, await unknownFieldsResult(data, options.fieldsDays, found)];
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return [
      {
        name: 'events arriving',
        verdict: 'fail',
        detail: `querying ClickHouse failed: ${message}`,
        fix: `"kubectl get pods -n ${found.namespace} -l telemetrystack.io/stack=${found.name}": the ClickHouse pod must be Running and Ready`,
      },
    ];
  } finally {
    await data.close();
  }
}

/** How many unknown names the check line lists; the report has them all. */
const UNKNOWN_FIELDS_SHOWN = 8;

/**
 * Names a new Claude Code version (or the team's own OTEL_RESOURCE_ATTRIBUTES) added: at `full`
 * stored like the known fields that travel the same way, at `basic` and `enhanced` removed by the
 * allow-list with only their names kept ("removed ... attribute"); either way invisible to the
 * reports until the tables know them. A warning, not a failure: nothing is broken, but the team
 * should know the day they arrive.
 */
export function fieldsCheck(unknown: readonly UnknownField[], days: number, found: ClusterStack): CheckResult {
  const name = 'unknown fields';
  if (unknown.length === 0) return { name, verdict: 'ok', detail: `every event, metric and attribute stored in the last ${days} day(s) is in the field tables` };
  const shown = unknown.slice(0, UNKNOWN_FIELDS_SHOWN).map((field) => `${field.kind} ${field.name}${field.seen_on ? ` (on ${field.seen_on})` : ''}`);
  const more = unknown.length > UNKNOWN_FIELDS_SHOWN ? ` and ${unknown.length - UNKNOWN_FIELDS_SHOWN} more` : '';
  const removed = unknown.filter((field) => field.kind.startsWith('removed ')).length;
  const removedNote = removed > 0 ? `, ${removed} of them removed by the level's allow-list (only the name was stored)` : '';
  return {
    name,
    verdict: 'warn',
    detail: `${unknown.length} name(s) stored in the last ${days} day(s) that this telemetry-stack does not know (a newer Claude Code?)${removedNote}: ${shown.join('; ')}${more}`,
    fix:
      `"telemetry-stack report unknown-fields --user NAME -n ${found.namespace} --stack ${found.name} --param days=${days}" lists them all; ` +
      'a removed attribute is kept out until telemetry-stack lists it, any other is stored like known fields that travel the same way (docs/PRIVACY.md): ' +
      'upgrade telemetry-stack, or remove one now with a sanitizer drop rule or a lower level; see docs/TROUBLESHOOTING.md "A new Claude Code version"',
  };
}

/** The drift query failing says so on its own line: it does not make the data checks above wrong. */
async function unknownFieldsResult(data: StackData, days: number, found: ClusterStack): Promise<CheckResult> {
  try {
    return fieldsCheck(await data.unknownFields(days), days, found);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return { name: 'unknown fields', verdict: 'warn', detail: `the unknown-fields query failed: ${message}`, fix: 'the stack\'s schema may predate this telemetry-stack version: check the operator (above) has migrated it' };
  }
}

/** Runs every check; an unreachable cluster ends the run (nothing else can be checked). */
export async function runDoctor(kube: Kube, options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const { skew, version, status } = await clockSkewSeconds(kube, options.now);
  if (status >= 300) {
    results.push({ name: 'cluster', verdict: 'fail', detail: `${kube.server} answered HTTP ${status}`, fix: status === 401 ? 'your kubeconfig credentials were rejected: log in again' : 'check the context (--context)' });
    return results;
  }
  results.push({ name: 'cluster', verdict: 'ok', detail: `${kube.server} (context "${kube.context}", Kubernetes ${version})` });
  results.push(clockCheck(skew));
  const crd = await crdCheck(kube);
  results.push(crd);
  const { watched, ...operator } = await operatorCheck(kube, options.operator);
  results.push(operator);
  if (crd.verdict !== 'ok') return results;

  let found: ClusterStack;
  try {
    found = await findStack(kube, options.selector);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const [detail, fix] = error.message.split('\nFix: ');
    results.push({ name: 'stack', verdict: 'fail', detail: detail!, ...(fix ? { fix: fix.replace(/\.$/, '') } : {}) });
    return results;
  }
  if (watched) results.push(scopeCheck(watched, found));
  results.push(stackCheck(found, options.now()));
  results.push(await podsCheck(kube, found));
  results.push(await credentialsCheck(kube, found));
  results.push(...(await dataChecks(kube, found, options)));
  return results;
}

const MARK: Record<Verdict, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' };

/** ANSI colours of the verdicts, used only when the output is a terminal (framework/io.ts useColour). */
const COLOUR: Record<Verdict, string> = { ok: '32', warn: '33', fail: '31', skip: '2' };

export function formatResults(results: readonly CheckResult[], colour = false): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const mark = (verdict: Verdict) => (colour ? `\x1b[${COLOUR[verdict]}m${MARK[verdict]}\x1b[0m` : MARK[verdict]);
  const lines = results.flatMap((r) => [`${mark(r.verdict)} ${r.name.padEnd(width)}  ${r.detail}`, ...(r.fix && r.verdict !== 'ok' ? [`       ${' '.repeat(width)}  fix: ${r.fix}`] : [])]);
  const failed = results.filter((r) => r.verdict === 'fail').length;
  lines.push(failed === 0 ? '\nno problems found' : `\n${failed} check(s) failed`);
  return `${lines.join('\n')}\n`;
}
