/**
 * Operator benchmark on the real control plane (kube-apiserver, etcd, controller-manager,
 * scheduler, kwok): N stacks in N namespaces.
 *
 *   node scripts/bench/operator.ts [--stacks 100] [--concurrency 4] [--leg embedded|instant]
 *
 * --leg instant replaces the ClickHouse leg by one that answers at once, so that apply -> all
 * Ready measures the operator and the control plane only (the embedded engine serialises every
 * stack's migrations in this process; in a cluster each stack has its own ClickHouse server).
 *
 * Measures: time from applying all stacks to all Ready (ClickHouse leg on the embedded engine,
 * one database per stack); requests and persisted writes during a steady-state resync of all
 * stacks (target: zero); resident memory of the operator as its own process once it has
 * reconciled every stack (that run has no ClickHouse leg, so the figure is the controller's).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LATEST_SCHEMA_VERSION } from '../../src/clickhouse/migrate.ts';
import type { ClickHouseLeg } from '../../src/operator/clickhouse-leg.ts';
import { STACK_LABEL } from '../../src/stack/labels.ts';
import { sqlClickHouseLeg } from '../../src/operator/clickhouse-sql.ts';
import { MUTATING, type KubeObject } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/operator/log.ts';
import { startOperator } from '../../src/operator/operator.ts';
import { OWNED, resourcePath, STACKS } from '../../src/operator/resources.ts';
import { eventually, startCluster } from '../../harness/cluster.ts';
import { applyCrd, applyStack, clientFor, createNamespace, sharedEmbeddedClickHouse, startChildOperator, type StackView } from '../../harness/operator.ts';

const { values } = parseArgs({ options: { stacks: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '4' }, leg: { type: 'string', default: 'embedded' } } });
if (values.leg !== 'embedded' && values.leg !== 'instant') throw new Error('--leg: embedded (the ClickHouse leg on the embedded engine) or instant (a leg that answers at once: the operator\'s own time)');
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
  const leg = timed(values.leg === 'embedded' ? sqlClickHouseLeg(clickhouse.connect) : instantLeg());
  const cpuBefore = process.cpuUsage();
  const clusterCpuBefore = childrenCpuSeconds();
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const operator = await startOperator({
    client,
    log: silentLogger,
    inCluster: false,
    clickhouse: leg.leg,
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
  const convergeByKind = byKind(client.log);
  const convergeLeg = leg.snapshot();
  const convergeReconcile = reconcileTotals(operator.metrics.render());
  const convergeCpu = process.cpuUsage(cpuBefore);
  const convergeClusterCpu = Math.round(childrenCpuSeconds() - clusterCpuBefore);
  const convergeLoop = { maxMs: Math.round(loopDelay.max / 1e6), p99Ms: Math.round(loopDelay.percentile(99) / 1e6), meanMs: Math.round(loopDelay.mean / 1e6) };
  await operator.controller.idle();
  leg.reset();

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
  const resyncByKind = byKind(client.log);
  const resyncLeg = leg.snapshot();
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
  const idleMetrics = await idle.metrics();
  const idleHeap = { used: Math.round(Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(idleMetrics)?.[1]) / 2 ** 20), total: Math.round(Number(/^nodejs_heap_size_total_bytes (\d+)/m.exec(idleMetrics)?.[1]) / 2 ** 20) };
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
  const childMetrics = await child.metrics();
  const gauge = (name: string) => Math.round(Number(new RegExp(`^${name} (\\d+)`, 'm').exec(childMetrics)?.[1]) / 2 ** 20);
  await child.stop();

  const result = {
    stacks,
    concurrency,
    leg: values.leg,
    applyAllMs: appliedMs,
    allReadyMs: readyMs,
    convergeRequests,
    convergeWrites,
    convergeRequestsByKind: convergeByKind,
    convergeClickHouseLeg: convergeLeg,
    convergeReconciles: convergeReconcile,
    convergeEventLoopDelay: convergeLoop,
    convergeCpuSeconds: { user: Math.round(convergeCpu.user / 1e5) / 10, system: Math.round(convergeCpu.system / 1e5) / 10, controlPlane: convergeClusterCpu },
    resync: { ms: resyncMs, requests: resyncRequests, writes: resyncWrites, objects: before.size, resourceVersionsChanged: changed, requestsByKind: resyncByKind, clickhouseLeg: resyncLeg },
    operatorIdleRssMiB: Math.round(idleRss.rss),
    operatorIdleHeapMiB: idleHeap,
    operatorRssMiB: Math.round(busyRss.rss),
    operatorPeakRssMiB: Math.round(busyRss.peak),
    operatorHeapUsedMiB: gauge('nodejs_heap_size_used_bytes'),
    operatorHeapTotalMiB: gauge('nodejs_heap_size_total_bytes'),
    operatorExternalMiB: gauge('nodejs_external_memory_bytes'),
    benchProcessRssMiB: Math.round(inProcessRss / 2 ** 20),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await clickhouse.close();
  await cluster.stop();
}

/**
 * The ClickHouse leg with a stopwatch: calls, the sum of their times, and the wall time with at
 * least one call running (with the embedded engine, which serialises its queries, that busy time
 * is a floor under apply -> all Ready).
 */
function timed(inner: ClickHouseLeg) {
  let calls = 0;
  let totalMs = 0;
  let busyMs = 0;
  let maxMs = 0;
  let running = 0;
  let busySince = 0;
  const leg: ClickHouseLeg = {
    ...inner,
    reconcile: async (...args) => {
      calls++;
      const started = Date.now();
      if (running++ === 0) busySince = started;
      try {
        return await inner.reconcile(...args);
      } finally {
        const now = Date.now();
        totalMs += now - started;
        maxMs = Math.max(maxMs, now - started);
        if (--running === 0) busyMs += now - busySince;
      }
    },
  };
  return {
    leg,
    snapshot: () => ({ calls, totalMs, busyMs: busyMs + (running > 0 ? Date.now() - busySince : 0), maxMs, meanMs: calls ? Math.round(totalMs / calls) : 0 }),
    reset: () => {
      calls = totalMs = busyMs = maxMs = 0;
      busySince = Date.now();
    },
  };
}

/** CPU seconds (user + system) used so far by this process's children: the control plane (etcd, kube-apiserver, controllers, kwok). */
function childrenCpuSeconds(): number {
  const ticks = 100; // USER_HZ
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue; // ppid
      total += (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** A ClickHouse leg that succeeds at once with the latest schema: what is left is the operator's own work. */
function instantLeg(): ClickHouseLeg {
  return {
    reconcile: async (stack) => ({ appliedRetention: {}, users: stack.spec.access.users.length, schemaVersion: LATEST_SCHEMA_VERSION, changes: [] }),
    remove: async () => {},
  };
}

/** Requests by method and resource (the path's plural, with "/status" when it is the subresource). */
function byKind(log: readonly { method: string; path: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { method, path } of log) {
    const parts = path.split('?')[0]!.split('/').filter(Boolean);
    const at = parts.indexOf('namespaces');
    const rest = at >= 0 ? parts.slice(at + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
    const kind = `${method} ${rest[0] ?? '?'}${rest.length > 2 ? `/${rest[2]}` : ''}${rest.length === 1 ? ' (list)' : ''}`;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([, a], [, b]) => b - a));
}

function reconcileTotals(metrics: string): { count: number; seconds: number } {
  return {
    count: Number(/^telemetrystack_reconcile_duration_seconds_count (\S+)/m.exec(metrics)?.[1] ?? 0),
    seconds: Math.round(Number(/^telemetrystack_reconcile_duration_seconds_sum (\S+)/m.exec(metrics)?.[1] ?? 0)),
  };
}
