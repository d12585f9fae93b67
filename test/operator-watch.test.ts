/**
 * The list-watch loop against a scripted fake API: the request sequences a real API server
 * produces only rarely (expired resourceVersion, a watch that goes silent, a failing watch).
 */
import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient, type KubeObject, type WatchEvent } from '../src/kube/client.ts';
import { silentLogger } from '../src/operator/log.ts';
import { ListWatcher, type ChangeType } from '../src/operator/watch.ts';
import { mergeConditions, sameStatus } from '../src/operator/conditions.ts';
import { ownerKey } from '../src/operator/controller.ts';

const configMap = (name: string, resourceVersion: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion } });

type WatchScript = (onEvent: (event: WatchEvent) => void, signal: AbortSignal, query: Record<string, unknown>) => Promise<void>;

function fakeClient(lists: KubeObject[][], watches: WatchScript[]) {
  const calls: string[] = [];
  let listIndex = 0;
  let watchIndex = 0;
  const client: KubeClient = {
    async request<T>(method: string, path: string) {
      calls.push(`${method} ${path}`);
      const items = lists[Math.min(listIndex, lists.length - 1)]!;
      listIndex++;
      return { metadata: { resourceVersion: String(100 + listIndex) }, items } as T;
    },
    async watch(_path, query, onEvent, signal) {
      calls.push(`WATCH rv=${String(query.resourceVersion)}`);
      const script = watches[Math.min(watchIndex, watches.length - 1)]!;
      watchIndex++;
      return script(onEvent, signal, query);
    },
  };
  return { client, calls };
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

describe('list-watch', () => {
  it('relists after 410 Gone and reports what disappeared meanwhile', async () => {
    const changes: string[] = [];
    const restarts: string[] = [];
    const { client, calls } = fakeClient(
      [[configMap('a', '1'), configMap('b', '2')], [configMap('a', '1'), configMap('c', '5')]],
      [
        async (onEvent, signal) => {
          onEvent({ type: 'MODIFIED', object: configMap('a', '3') });
          onEvent({ type: 'ERROR', object: { apiVersion: 'v1', kind: 'Status', metadata: { name: '' }, code: 410, reason: 'Expired' } });
          // The watcher aborts the connection; a client may surface that as an error.
          await untilAborted(signal);
          throw new KubeApiError(0, 'Aborted', 'connection aborted');
        },
        (_onEvent, signal) => untilAborted(signal),
      ],
    );
    const watcher = new ListWatcher({
      client,
      log: silentLogger,
      resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
      onChange: (type: ChangeType, object) => changes.push(`${type} ${object.metadata.name}@${object.metadata.resourceVersion}`),
      onRestart: (cause) => restarts.push(cause),
    });
    watcher.start();
    await watcher.synced;
    await vitestWait(() => calls.filter((call) => call.startsWith('GET')).length === 2 && calls.at(-1)!.startsWith('WATCH'));
    await watcher.stop();
    expect(restarts).toEqual(['gone']);
    expect(changes).toEqual(['ADDED a@1', 'ADDED b@2', 'MODIFIED a@3', 'DELETED b@2', 'MODIFIED a@1', 'ADDED c@5']);
    expect([...watcher.cache.keys()].sort()).toEqual(['ns/a', 'ns/c']);
    expect(calls.filter((call) => call.startsWith('WATCH'))).toEqual(['WATCH rv=101', 'WATCH rv=102']);
  });

  it('restarts a watch that stays silent, resuming from the last resourceVersion', async () => {
    const restarts: string[] = [];
    const { client, calls } = fakeClient([[configMap('a', '1')]], [
      async (onEvent, signal) => {
        onEvent({ type: 'BOOKMARK', object: configMap('', '150') });
        await untilAborted(signal);
      },
      (_onEvent, signal) => untilAborted(signal),
    ]);
    const watcher = new ListWatcher({ client, log: silentLogger, resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' }, silenceMs: 50, onChange: () => {}, onRestart: (cause) => restarts.push(cause) });
    watcher.start();
    await vitestWait(() => restarts.length >= 2);
    await watcher.stop();
    expect(restarts.slice(0, 2)).toEqual(['silent', 'silent']);
    // One list only; every watch resumes from the bookmark's resourceVersion.
    expect(calls.filter((call) => call.startsWith('GET'))).toHaveLength(1);
    expect(calls.filter((call) => call.startsWith('WATCH')).slice(1, 3)).toEqual(['WATCH rv=150', 'WATCH rv=150']);
  });

  it('retries a failing watch with backoff and keeps the cache', async () => {
    const restarts: string[] = [];
    let failures = 0;
    const { client, calls } = fakeClient([[configMap('a', '1')]], [
      async () => {
        failures++;
        throw new KubeApiError(503, 'ServiceUnavailable', 'apiserver restarting');
      },
      async () => {
        failures++;
        throw new KubeApiError(0, 'Unreachable', 'connection refused');
      },
      (_onEvent, signal) => untilAborted(signal),
    ]);
    const watcher = new ListWatcher({
      client,
      log: silentLogger,
      resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
      backoff: { baseMs: 5, capMs: 20, jitter: 0 },
      onChange: () => {},
      onRestart: (cause) => restarts.push(cause),
    });
    watcher.start();
    await vitestWait(() => calls.filter((call) => call.startsWith('WATCH')).length === 3);
    await watcher.stop();
    expect(failures).toBe(2);
    expect(restarts).toEqual(['error', 'error']);
    expect(calls.filter((call) => call.startsWith('GET'))).toHaveLength(1);
    expect(watcher.cache.size).toBe(1);
  });
});

describe('owner mapping and conditions', () => {
  it('maps an owned object to its stack by controller reference, else by label', () => {
    const owned = (metadata: Partial<KubeObject['metadata']>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'ns', ...metadata } });
    expect(ownerKey(owned({ ownerReferences: [{ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', name: 'team', uid: 'u', controller: true }] }))).toBe('ns/team');
    expect(ownerKey(owned({ labels: { 'telemetrystack.io/stack': 'other' } }))).toBe('ns/other');
    expect(ownerKey(owned({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's', uid: 'u', controller: true }] }))).toBeUndefined();
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'ComponentsNotReady', message: 'waiting' }], 1, '2026-01-01T00:00:00Z');
    const same = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'ComponentsNotReady', message: 'still waiting' }], 1, '2026-01-01T00:05:00Z');
    expect(same[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    const flipped = mergeConditions(same, [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }], 2, '2026-01-01T00:10:00Z');
    expect(flipped[0]).toEqual({ type: 'Ready', status: 'True', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:10:00Z', reason: 'Reconciled', message: 'ok' });
    const again = mergeConditions(flipped, [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }], 2, '2026-01-01T00:20:00Z');
    expect(sameStatus({ conditions: flipped }, { conditions: again })).toBe(true);
    expect(sameStatus({ conditions: flipped }, { conditions: same })).toBe(false);
  });
});

async function vitestWait(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
