/**
 * Operator benchmark on the real control plane (kube-apiserver, etcd, controller-manager,
 * scheduler, kwok): N stacks in N namespaces.
 *
 *   node scripts/bench/operator.ts [--stacks 100] [--concurrency 4]
 *
 * Measures: time from applying all stacks to all Ready (ClickHouse leg on the embedded engine,
 * one database per stack); requests and persisted writes during a steady-state resync of all
 * stacks (target: zero); resident memory of the operator as its own process once it has
 * reconciled every stack (that run has no ClickHouse leg, so the figure is the controller's).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { STACK_LABEL } from '../../src/stack/labels.ts';
import { sqlClickHouseLeg } from '../../src/operator/clickhouse-sql.ts';
import { MUTATING, type KubeObject } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/operator/log.ts';
import { startOperator } from '../../src/operator/operator.ts';
import { OWNED, resourcePath, STACKS } from '../../src/operator/resources.ts';
import { eventually, startCluster } from '../../test/support/cluster.ts';
import { applyCrd, applyStack, clientFor, createNamespace, sharedEmbeddedClickHouse, startChildOperator, type StackView } from '../../test/support/operator.ts';

const { values } = parseArgs({ options: { stacks: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '4' } } });
const stacks = Number(values.stacks);
const concurrency = Number(values.concurrency);
const namespaces = Array.from({ length: stacks }, (_, i) => `bench-${String(i).padStart(3, '0')}`);

const cluster = await startCluster({ controllers: true, kwok: true, nodes: Math.ceil(stacks / 40) + 1, readyTimeoutMs: 180_000 });
const admin = clientFor(cluster.kubeConfig);
const clickhouse = await sharedEmbeddedClickHouse();
try {
  await applyCrd(admin);
  for (const namespace of namespaces) await createNamespace(admin, namespace);

  const client = clientFor(cluster.kubeConfig);
  client.recordRequests = true;
  const operator = await startOperator({
    client,
    log: silentLogger,
    inCluster: false,
    clickhouse: sqlClickHouseLeg(clickhouse.connect),
    clickhouseUrl: 'http://embedded.invalid:8123',
    concurrency,
    resyncMs: 3_600_000,
  });

  const started = Date.now();
  await Promise.all(namespaces.map((namespace, i) => applyStack(admin, namespace, 'telemetry', { clickhouse: { database: `bench_${i}` } })));
  const appliedMs = Date.now() - started;
  await eventually(
    `all ${stacks} stacks Ready`,
    async () => {
      const list = await admin.request<{ items: StackView[] }>('GET', resourcePath(STACKS));
      const ready = list.items.filter((stack) => stack.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && stack.status.observedGeneration === stack.metadata.generation);
      return ready.length === stacks;
    },
    30 * 60_000,
    1_000,
  );
  const readyMs = Date.now() - started;
  const convergeRequests = client.log.length;
  const convergeWrites = client.log.filter((request) => MUTATING.has(request.method)).length;
  await operator.controller.idle();

  const versions = async () => {
    const out = new Map<string, string>();
    for (const resource of [...OWNED, STACKS]) {
      const list = await admin.request<{ items: KubeObject[] }>('GET', resourcePath(resource), resource === STACKS ? {} : { query: { labelSelector: STACK_LABEL } });
      for (const item of list.items) out.set(`${resource.kind}/${item.metadata.namespace}/${item.metadata.name}`, item.metadata.resourceVersion!);
    }
    return out;
  };
  const before = await versions();
  client.log.length = 0;
  const resyncStarted = Date.now();
  operator.controller.resync();
  await operator.controller.idle();
  const resyncMs = Date.now() - resyncStarted;
  const resyncRequests = client.log.length;
  const resyncWrites = client.log.filter((request) => MUTATING.has(request.method)).length;
  const after = await versions();
  const changed = [...before].filter(([key, version]) => after.get(key) !== version).length;
  const inProcessRss = process.memoryUsage().rss;
  await operator.stop();

  const rssOf = (pid: number | undefined) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024, peak: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024 };
  };
  // Baseline: the operator process watching a namespace with no stacks.
  const idle = await startChildOperator(cluster.kubeconfigPath, ['--log-level', 'warn', '--namespace', 'no-stacks-here']);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idleRss = rssOf(idle.process.pid);
  await idle.stop();

  // The operator alone, as its own process: reconcile every stack, then read its RSS.
  const child = await startChildOperator(cluster.kubeconfigPath, ['--log-level', 'warn']);
  await eventually(
    'the child operator to reconcile every stack',
    async () => {
      const metrics = await child.metrics();
      const done = Number(/^telemetrystack_reconcile_total\{result="success"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
      const depth = Number(/^telemetrystack_queue_depth (\d+)/m.exec(metrics)?.[1] ?? 1);
      return done >= stacks && depth === 0;
    },
    10 * 60_000,
    1_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const busyRss = rssOf(child.process.pid);
  const heapUsedMiB = Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(await child.metrics())?.[1]) / 2 ** 20;
  await child.stop();

  const result = {
    stacks,
    concurrency,
    applyAllMs: appliedMs,
    allReadyMs: readyMs,
    convergeRequests,
    convergeWrites,
    resync: { ms: resyncMs, requests: resyncRequests, writes: resyncWrites, objects: before.size, resourceVersionsChanged: changed },
    operatorIdleRssMiB: Math.round(idleRss.rss),
    operatorRssMiB: Math.round(busyRss.rss),
    operatorPeakRssMiB: Math.round(busyRss.peak),
    operatorHeapUsedMiB: Math.round(heapUsedMiB),
    benchProcessRssMiB: Math.round(inProcessRss / 2 ** 20),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await clickhouse.close();
  await cluster.stop();
}
