/**
 * The request sequence of a storage resize, where a real API server cannot easily be made to
 * fail at the right moment: resuming after a crash between steps, transient errors, a delete
 * that never finishes. The whole path runs against a real API server in operator-cluster.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { NEEDS_A_PERSON, REASON } from '../src/stack/conditions.ts';
import { ReconcileError } from '../src/operator/errors.ts';
import { KubeApiError, type KubeObject } from '../src/kube/client.ts';
import { resizeStatefulSetClaims } from '../src/operator/storage.ts';
import { scripted } from './support/scripted-kube.ts';
import { stackFrom } from '../harness/stacks.ts';

const STS = '/apis/apps/v1/namespaces/team/statefulsets/telemetry-clickhouse';
const CLAIM = '/api/v1/namespaces/team/persistentvolumeclaims/data-telemetry-clickhouse-0';

function statefulSet(size: string, uid = 'sts-1', name = 'telemetry-clickhouse', claim = 'data', replicas = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'team', uid },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: claim }, spec: { resources: { requests: { storage: size } } } }] },
  };
}

const notFound = () => new KubeApiError(404, 'NotFound', 'not found');
const stack = (size: string) => stackFrom({ clickhouse: { storage: { size } } });
const noSleep = async () => {};

describe('resizeStatefulSetClaims', () => {
  it('does nothing, and sends nothing, when the sizes agree however they are written', async () => {
    const { client, calls } = scripted({});
    expect(await resizeStatefulSetClaims({ client }, stack('1Gi'), statefulSet('1Gi', 'desired'), statefulSet('1024Mi'))).toBeUndefined();
    expect(await resizeStatefulSetClaims({ client }, stack('20Gi'), statefulSet('20Gi', 'desired'), statefulSet('20Gi'))).toBeUndefined();
    expect(await resizeStatefulSetClaims({ client }, stack('20Gi'), statefulSet('20Gi', 'desired'), undefined)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('grows the claim, then orphan-deletes the StatefulSet with a uid precondition, then waits for it to go', async () => {
    const { client, calls } = scripted({
      [`GET ${CLAIM}`]: [{ metadata: { name: 'data-telemetry-clickhouse-0' }, spec: { storageClassName: 'ssd', resources: { requests: { storage: '20Gi' } } } }],
      [`PATCH ${CLAIM}`]: [{}],
      [`DELETE ${STS}`]: [{}],
      [`GET ${STS}`]: [statefulSet('20Gi'), notFound()],
    });
    const resized = await resizeStatefulSetClaims({ client, sleep: noSleep }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'));
    expect(resized).toEqual({ statefulSet: 'telemetry-clickhouse', sizes: [{ field: 'spec.clickhouse.storage.size', from: '20Gi', to: '30Gi' }], claims: ['team/data-telemetry-clickhouse-0'] });
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([`GET ${CLAIM}`, `PATCH ${CLAIM}`, `DELETE ${STS}`, `GET ${STS}`, `GET ${STS}`]);
    expect(calls[1]!.body).toEqual({ spec: { resources: { requests: { storage: '30Gi' } } } });
    expect(calls[2]!.body).toMatchObject({ propagationPolicy: 'Orphan', preconditions: { uid: 'sts-1' } });
  });

  it('resumes after a crash: a claim already grown is not patched again', async () => {
    const { client, calls } = scripted({
      [`GET ${CLAIM}`]: [{ metadata: { name: 'c' }, spec: { resources: { requests: { storage: '30Gi' } } } }],
      [`DELETE ${STS}`]: [{}],
      [`GET ${STS}`]: [notFound()],
    });
    expect(await resizeStatefulSetClaims({ client, sleep: noSleep }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'))).toEqual({ statefulSet: 'telemetry-clickhouse', sizes: [{ field: 'spec.clickhouse.storage.size', from: '20Gi', to: '30Gi' }], claims: [] });
    expect(calls.map((call) => call.method)).toEqual(['GET', 'DELETE', 'GET']);
  });

  it('a claim not made yet is skipped: the new template makes it at the new size', async () => {
    const { client } = scripted({ [`GET ${CLAIM}`]: [notFound()], [`DELETE ${STS}`]: [notFound()], [`GET ${STS}`]: [notFound()] });
    expect(await resizeStatefulSetClaims({ client, sleep: noSleep }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'))).toEqual({ statefulSet: 'telemetry-clickhouse', sizes: [{ field: 'spec.clickhouse.storage.size', from: '20Gi', to: '30Gi' }], claims: [] });
  });

  it('refuses to shrink before sending anything', async () => {
    const { client, calls } = scripted({});
    const refused = resizeStatefulSetClaims({ client }, stack('10Gi'), statefulSet('10Gi', 'desired'), statefulSet('20Gi'));
    await expect(refused).rejects.toBeInstanceOf(ReconcileError);
    await expect(refused).rejects.toMatchObject({ reason: REASON.storageShrinkRefused });
    expect(calls).toEqual([]);
  });

  it('a refused claim patch is a ReconcileError naming the claim, its class and the fix; the StatefulSet is not touched', async () => {
    const { client, calls } = scripted({
      [`GET ${CLAIM}`]: [{ metadata: { name: 'c' }, spec: { storageClassName: 'standard', resources: { requests: { storage: '20Gi' } } } }],
      [`PATCH ${CLAIM}`]: [new KubeApiError(403, 'Forbidden', 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize')],
    });
    const failed = resizeStatefulSetClaims({ client }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'));
    await expect(failed).rejects.toMatchObject({
      reason: REASON.storageResizeFailed,
      message: expect.stringMatching(/^spec\.clickhouse\.storage\.size: cannot grow claim team\/data-telemetry-clickhouse-0 from 20Gi to 30Gi: only dynamically .* StorageClass "standard" must set allowVolumeExpansion: true; or set the size back to 20Gi\./),
    });
    expect(calls.some((call) => call.path === STS)).toBe(false);
  });

  it('transient failures (conflict, server error) are thrown as they are, for the queue to retry', async () => {
    for (const status of [409, 500]) {
      const { client } = scripted({
        [`GET ${CLAIM}`]: [{ metadata: { name: 'c' }, spec: { resources: { requests: { storage: '20Gi' } } } }],
        [`PATCH ${CLAIM}`]: [new KubeApiError(status, 'x', 'try again')],
      });
      const failed = resizeStatefulSetClaims({ client }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'));
      await expect(failed).rejects.toBeInstanceOf(KubeApiError);
    }
  });

  it('a delete that does not finish in time is an error to retry, not a hang', async () => {
    const { client } = scripted({
      [`GET ${CLAIM}`]: [{ metadata: { name: 'c' }, spec: { resources: { requests: { storage: '30Gi' } } } }],
      [`DELETE ${STS}`]: [{}],
      [`GET ${STS}`]: [statefulSet('20Gi')],
    });
    await expect(resizeStatefulSetClaims({ client, sleep: noSleep, deleteTimeoutMs: 0 }, stack('30Gi'), statefulSet('30Gi', 'desired'), statefulSet('20Gi'))).rejects.toThrow(/still being deleted/);
  });

  it('grows the collector\'s queue claims too, one per replica, naming the collector\'s field', async () => {
    const queue = (ordinal: number) => `/api/v1/namespaces/team/persistentvolumeclaims/queue-telemetry-collector-${ordinal}`;
    const collector = '/apis/apps/v1/namespaces/team/statefulsets/telemetry-collector';
    const { client, calls } = scripted({
      [`GET ${queue(0)}`]: [{ metadata: { name: 'q0' }, spec: { resources: { requests: { storage: '1Gi' } } } }],
      [`GET ${queue(1)}`]: [{ metadata: { name: 'q1' }, spec: { resources: { requests: { storage: '1Gi' } } } }],
      [`PATCH ${queue(0)}`]: [{}],
      [`PATCH ${queue(1)}`]: [{}],
      [`DELETE ${collector}`]: [{}],
      [`GET ${collector}`]: [notFound()],
    });
    const desired = statefulSet('2Gi', 'desired', 'telemetry-collector', 'queue', 2);
    const resized = await resizeStatefulSetClaims({ client, sleep: noSleep }, stack('20Gi'), desired, statefulSet('1Gi', 'sts-2', 'telemetry-collector', 'queue', 2));
    expect(resized).toEqual({
      statefulSet: 'telemetry-collector',
      sizes: [{ field: 'spec.collector.persistentQueue.size', from: '1Gi', to: '2Gi' }],
      claims: ['team/queue-telemetry-collector-0', 'team/queue-telemetry-collector-1'],
    });
    expect(calls.filter((call) => call.method === 'PATCH')).toHaveLength(2);
  });
});

describe('reasons that need a person', () => {
  it('include every reason the operator gives up on until something changes (up stops waiting on them)', () => {
    for (const reason of [REASON.invalidSpec, REASON.applyFailed, REASON.retentionShorteningUnconfirmed, REASON.storageShrinkRefused, REASON.storageResizeFailed]) expect(NEEDS_A_PERSON).toContain(reason);
    // Conditions that heal by themselves are not among them.
    for (const reason of [REASON.waitingForPods, REASON.clickhouseFailed, REASON.rollingOut]) expect(NEEDS_A_PERSON).not.toContain(reason);
  });
});
