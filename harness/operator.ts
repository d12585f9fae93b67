/** Helpers for the operator's real-cluster tests: a JSON client, the CRD, stacks, child operators, the embedded ClickHouse. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from './ports.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CRD_NAME } from '../src/api/constants.ts';
import { NEEDS_A_PERSON } from '../src/stack/conditions.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { embeddedTarget } from '../src/clickhouse/target.ts';
import { APPLY_PATCH } from '../src/operator/apply.ts';
import type { Connect } from '../src/operator/clickhouse-sql.ts';
import { HttpKubeClient, isNotFound, type KubeObject } from '../src/kube/client.ts';
import { OWNED, resourcePath, STACKS } from '../src/operator/resources.ts';
import { STACK_LABEL } from '../src/stack/labels.ts';
import { eventually, GiveUp } from './cluster.ts';

export const TEST_MANAGER = 'operator-tests';

export function clientFor(kubeConfig: KubeConfig): HttpKubeClient {
  return new HttpKubeClient(kubeConfig);
}

/** Server-side applies one object as the test (a person's kubectl apply). */
export function apply(client: HttpKubeClient, object: KubeObject, path: string): Promise<KubeObject> {
  return client.request<KubeObject>('PATCH', path, { body: object, contentType: APPLY_PATCH, query: { fieldManager: TEST_MANAGER, force: true } });
}

export async function applyCrd(client: HttpKubeClient): Promise<void> {
  const crd = parseAllDocuments(readFileSync(new URL('../crds/telemetrystack.yaml', import.meta.url), 'utf8'))[0]!.toJS() as KubeObject;
  await apply(client, crd, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
  await eventually('the CRD to be established', async () => {
    const current = await client.request<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
    return current.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True');
  });
  // Discovery of the new group can lag the Established condition by a moment.
  await eventually('the TelemetryStack API to be served', async () => {
    await client.request('GET', resourcePath(STACKS, 'default'));
    return true;
  });
}

export async function createNamespace(client: HttpKubeClient, name: string): Promise<void> {
  await apply(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, `/api/v1/namespaces/${name}`);
}

export function stackObject(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: STACKS.apiVersion, kind: STACKS.kind, metadata: { name, namespace }, spec };
}

export function applyStack(client: HttpKubeClient, namespace: string, name: string, spec: Record<string, unknown> = {}) {
  return apply(client, stackObject(namespace, name, spec), resourcePath(STACKS, namespace, name));
}

export type StackView = KubeObject & { spec: Record<string, unknown>; status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[]; appliedRetention?: Record<string, number>; users?: number; endpoints?: Record<string, string> } };

export function getStack(client: HttpKubeClient, namespace: string, name: string): Promise<StackView> {
  return client.request<StackView>('GET', resourcePath(STACKS, namespace, name));
}

export function condition(stack: StackView, type: string) {
  return stack.status?.conditions?.find((candidate) => candidate.type === type);
}

/** [type, message] of the Events with this reason in a namespace, optionally about one object only. */
export async function eventsWithReason(client: HttpKubeClient, namespace: string, reason: string, about?: string): Promise<[string, string][]> {
  const list = await client.request<{ items: { type: string; reason: string; message: string; involvedObject: { name: string } }[] }>('GET', `/api/v1/namespaces/${namespace}/events`);
  return list.items.filter((event) => event.reason === reason && (about === undefined || event.involvedObject.name === about)).map((event) => [event.type, event.message]);
}

/**
 * Waits for Ready for the current generation. Fails at once, with the condition, when the
 * operator says only a person can help (NEEDS_A_PERSON, as `up` does): a test that left the stack
 * so then fails the next one in seconds, with the cause, instead of after the whole timeout.
 */
export async function waitForReady(client: HttpKubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<StackView> {
  return eventually(
    `${namespace}/${name} to be Ready`,
    async () => {
      const stack = await getStack(client, namespace, name);
      const current = stack.status?.observedGeneration === stack.metadata.generation;
      const stuck = current ? stack.status?.conditions?.find((candidate) => candidate.status === 'False' && NEEDS_A_PERSON.includes(candidate.reason)) : undefined;
      if (stuck) throw new GiveUp(`it will not become Ready without a person: ${stuck.type} ${stuck.reason}: ${stuck.message}`);
      return condition(stack, 'Ready')?.status === 'True' && current ? stack : undefined;
    },
    timeoutMs,
    250,
  );
}

/** Every object of every owned kind that carries the stack label, as "Kind/name". */
export async function ownedObjects(client: HttpKubeClient, namespace: string, stack: string): Promise<Map<string, KubeObject>> {
  const out = new Map<string, KubeObject>();
  for (const resource of OWNED) {
    const list = await client.request<{ items: KubeObject[] }>('GET', resourcePath(resource, namespace), { query: { labelSelector: `${STACK_LABEL}=${stack}` } });
    for (const item of list.items) out.set(`${resource.kind}/${item.metadata.name}`, item);
  }
  return out;
}

export async function objectExists(client: HttpKubeClient, path: string): Promise<boolean> {
  try {
    await client.request('GET', path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** One embedded ClickHouse for the whole test file (chdb binds one data directory per process); operators borrow it. */
export async function sharedEmbeddedClickHouse(): Promise<{ target: SqlTarget; connect: Connect; close(): Promise<void> }> {
  const target = await embeddedTarget();
  const borrowed: SqlTarget = { ...target, kind: target.kind, close: async () => {} };
  return { target, connect: async () => borrowed, close: () => target.close() };
}

export interface ChildOperator {
  readonly process: ChildProcess;
  readonly port: number;
  output(): string;
  metrics(): Promise<string>;
  /** Signals it and waits for the exit code; throws with the log's tail if it has not exited within timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** `telemetry-stack operator` as its own process (the way it runs in a pod, minus the pod). */
/** Where the operator's program is: the checkout's src/ by default, or e.g. a built image's tree. */
export interface OperatorProgram {
  /** argv up to and including the `operator` command, e.g. [node, '/app/build/cli/main.js', 'operator']. */
  argv: string[];
  cwd: string;
}

const SOURCE_PROGRAM: OperatorProgram = { argv: [process.execPath, 'src/cli/main.ts', 'operator'], cwd: new URL('..', import.meta.url).pathname };

export async function startChildOperator(kubeconfigPath: string, args: string[], program: OperatorProgram = SOURCE_PROGRAM): Promise<ChildOperator> {
  const port = await freePort();
  const child = spawn(program.argv[0]!, [...program.argv.slice(1), '--kubeconfig', kubeconfigPath, '--metrics-port', String(port), ...args], {
    cwd: program.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '' },
  });
  let output = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.once('exit', () => child.kill('SIGKILL'));
  await eventually(
    `operator on port ${port} to serve /healthz`,
    async () => {
      if (child.exitCode !== null) throw new Error(`operator exited: ${output}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    },
    30_000,
  );
  return {
    process: child,
    port,
    output: () => output,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text(),
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        child.kill('SIGKILL');
        throw new Error(`operator still running ${timeoutMs} ms after ${signal}; its log ends:\n${output.trim().split('\n').slice(-20).join('\n')}`);
      }
      return outcome;
    },
  };
}
