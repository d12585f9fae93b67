/**
 * What keeps a hundred converging stacks from repeating work (issue 16 item 3), without a cluster:
 * - the ClickHouse leg is not sent again while its inputs are unchanged and it succeeded less than
 *   the recheck interval ago; any change of spec, annotations, URL or a credential, a failure, or
 *   the recheck runs it again;
 * - an owned object whose resourceVersion moved because its status changed (a StatefulSet's pods
 *   coming up) is not applied again; a change of anything else of it (drift) still is.
 */
import { describe, expect, it } from 'vitest';
import { SHORTEN_RETENTION_ANNOTATION } from '../src/api/constants.ts';
import { Applier, withoutStatusDigest } from '../src/operator/apply.ts';
import { ClickHouseMemo } from '../src/operator/clickhouse-memo.ts';
import type { ClickHouseCredentials, ClickHouseOutcome } from '../src/operator/clickhouse-leg.ts';
import type { KubeObject } from '../src/kube/client.ts';
import { scripted } from './support/scripted-kube.ts';
import { stackFrom } from '../harness/stacks.ts';

const URL = 'http://telemetry-clickhouse.ns.svc:8123';
const account = (username: string, password: string) => ({ username, password });
const credentials = (alicePassword = 'a1'): ClickHouseCredentials => ({
  admin: account('admin', 'p0'),
  ingest: account('ingest', 'p1'),
  users: new Map([['alice', account('alice', alicePassword)]]),
});
const outcome: ClickHouseOutcome = { appliedRetention: { eventsDays: 90 }, users: 1, schemaVersion: 9, changes: ['migration 9 typed'] };

describe('the ClickHouse leg memo', () => {
  const stack = { ...stackFrom({ access: { users: [{ name: 'alice', role: 'viewer' }] } }, 'telemetry', 'ns') };
  const withUid = { ...stack, metadata: { ...stack.metadata, uid: 'uid-1' } };

  it('reuses an unchanged leg until the recheck, with no changes reported', () => {
    let now = 1_000;
    const memo = new ClickHouseMemo({ recheckMs: 60_000, now: () => now });
    const fingerprint = ClickHouseMemo.fingerprint(withUid, URL, credentials());
    expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
    memo.remember('ns/telemetry', fingerprint, outcome);
    now += 59_999;
    expect(memo.reuse('ns/telemetry', ClickHouseMemo.fingerprint(withUid, URL, credentials()))).toEqual({ ...outcome, changes: [] });
    now += 1;
    expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
  });

  it('any change of the leg\'s inputs runs it again', () => {
    const base = ClickHouseMemo.fingerprint(withUid, URL, credentials());
    const changed = [
      ClickHouseMemo.fingerprint({ ...withUid, spec: { ...withUid.spec, retention: { ...withUid.spec.retention, eventsDays: 30 } } }, URL, credentials()),
      ClickHouseMemo.fingerprint({ ...withUid, metadata: { ...withUid.metadata, annotations: { [SHORTEN_RETENTION_ANNOTATION]: 'eventsDays=30' } } }, URL, credentials()),
      ClickHouseMemo.fingerprint({ ...withUid, metadata: { ...withUid.metadata, uid: 'uid-2' } }, URL, credentials()),
      ClickHouseMemo.fingerprint(withUid, 'http://127.0.0.1:40000', credentials()),
      ClickHouseMemo.fingerprint(withUid, URL, credentials('rotated')),
      ClickHouseMemo.fingerprint(withUid, URL, { ...credentials(), grafana: account('grafana_reader', 'g') }),
    ];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
    const memo = new ClickHouseMemo();
    memo.remember('ns/telemetry', base, outcome);
    for (const fingerprint of changed) expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
    // No password in what is kept.
    expect(base).not.toContain('p0');
  });

  it('keeps nothing after a failure, a stack gone, retention waiting for a confirmation, or a resync', () => {
    const memo = new ClickHouseMemo();
    const fingerprint = ClickHouseMemo.fingerprint(withUid, URL, credentials());
    memo.remember('ns/telemetry', fingerprint, outcome);
    memo.forget('ns/telemetry');
    expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
    memo.remember('ns/telemetry', fingerprint, { ...outcome, withheldRetention: [{ signal: 'eventsDays', fromDays: 90, toDays: 30, tables: ['otel_logs'] }] });
    expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
    expect(memo.size).toBe(0);
    // A resync empties it: every stack's ClickHouse is checked again.
    memo.remember('ns/telemetry', fingerprint, outcome);
    memo.clear();
    expect(memo.reuse('ns/telemetry', fingerprint)).toBeUndefined();
  });
});

describe('the Applier and status-only changes', () => {
  const PATH = '/apis/apps/v1/namespaces/ns/statefulsets/telemetry-collector';
  const desired: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'telemetry-collector', namespace: 'ns', labels: { app: 'collector' } }, spec: { replicas: 1 } };
  const answered = (resourceVersion: string, extra: Partial<KubeObject> = {}): KubeObject => ({
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    metadata: { name: 'telemetry-collector', namespace: 'ns', uid: 'u1', resourceVersion, generation: 1, creationTimestamp: '2026-11-30T00:00:00Z', labels: { app: 'collector' }, managedFields: [{ manager: 'telemetry-stack-operator' }] },
    spec: { replicas: 1, serviceName: 'x' },
    status: { replicas: 0 },
    ...extra,
  });

  it('does not apply again when only the status (and so the resourceVersion) moved', async () => {
    const { client, calls } = scripted({ [`PATCH ${PATH}`]: [answered('10')] });
    const applier = new Applier(client);
    await applier.apply(desired, undefined);
    // As the watch cache holds it: without managedFields, keys in another order, the status moved on.
    const { managedFields: _managed, ...metadata } = answered('14').metadata;
    const cached: KubeObject = { metadata: { ...metadata, resourceVersion: '14' }, spec: { serviceName: 'x', replicas: 1 }, status: { replicas: 1, readyReplicas: 1 }, apiVersion: 'apps/v1', kind: 'StatefulSet' };
    expect(withoutStatusDigest(cached)).toBe(withoutStatusDigest(answered('10')));
    const result = await applier.apply(desired, cached);
    expect(result).toEqual({ object: cached, wrote: false });
    expect(calls.map((call) => call.method)).toEqual(['PATCH']);
  });

  it('applies again when anything but the status changed: drift in the spec or the labels', async () => {
    for (const drifted of [answered('15', { spec: { replicas: 3, serviceName: 'x' } }), answered('15', { metadata: { ...answered('15').metadata, labels: { app: 'edited' } } })]) {
      const { client, calls } = scripted({ [`PATCH ${PATH}`]: [answered('10'), answered('16')] });
      const applier = new Applier(client);
      await applier.apply(desired, undefined);
      const result = await applier.apply(desired, drifted);
      expect(calls.map((call) => call.method)).toEqual(['PATCH', 'PATCH']);
      // Under the resourceVersion it was read at.
      expect((calls[1]!.body as KubeObject).metadata.resourceVersion).toBe('15');
      expect(result.wrote).toBe(true);
    }
  });
});
