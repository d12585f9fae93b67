import { describe, expect, it } from 'vitest';
import { validateStack } from '../src/api/validate.ts';
import { expectRefusedAt } from './support/refusals.ts';
import { exampleFiles, loadExample } from '../harness/stacks.ts';

describe('TelemetryStack API', () => {
  it('an empty spec is a complete stack with explicit defaults', () => {
    const result = validateStack({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { spec } = result.stack;
    expect(spec.level).toBe('enhanced');
    expect(spec.collector.replicas).toBe(1);
    expect(spec.collector.persistentQueue.enabled).toBe(true);
    expect(spec.clickhouse.mode).toBe('inCluster');
    expect(spec.retention).toEqual({ eventsDays: 90, metricsDays: 90, rollupsDays: 730 });
    expect(spec.sanitizer.disabledPresets).toEqual([]);
    expect(spec.access.allowAnonymousIngestion).toBe(false);
    expect(spec.access.users.length).toBeGreaterThan(0);
    expect(spec.upstream).toBeUndefined();
  });

  it.each(exampleFiles())('example %s validates', (file) => {
    const result = validateStack(loadExample(file));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('accepts a full resource and a bare spec alike', () => {
    const bare = validateStack({ level: 'full' }, { name: 'a' });
    const full = validateStack({ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name: 'a' }, spec: { level: 'full' } });
    expect(bare.ok && full.ok && bare.stack.spec).toEqual(full.ok && full.stack.spec);
  });

  // Each invalid spec must be rejected with a problem at exactly this field path.
  const invalid: [string, unknown, string, RegExp][] = [
    ['negative retention', { retention: { eventsDays: -1 } }, 'spec.retention.eventsDays', /at least 1/],
    ['fractional retention', { retention: { metricsDays: 1.5 } }, 'spec.retention.metricsDays', /integer/],
    ['rollups shorter than raw data', { retention: { eventsDays: 400, rollupsDays: 100 } }, 'spec.retention.rollupsDays', /at least eventsDays/],
    ['unknown preset', { sanitizer: { disabledPresets: ['credit-cards'] } }, 'spec.sanitizer.disabledPresets[0]', /must be one of/],
    ['look-behind pattern', { sanitizer: { rules: [{ name: 'x', pattern: '(?<=key=)\\w+' }] } }, 'spec.sanitizer.rules[0].pattern', /not a valid RE2 pattern/],
    ['back-reference pattern', { sanitizer: { rules: [{ name: 'x', pattern: '(a)\\1' }] } }, 'spec.sanitizer.rules[0].pattern', /not a valid RE2 pattern/],
    ['pattern matching nothing but empty', { sanitizer: { rules: [{ name: 'x', pattern: 'a*' }] } }, 'spec.sanitizer.rules[0].pattern', /empty string/],
    ['rule named like a preset', { sanitizer: { rules: [{ name: 'jwts', pattern: 'x' }] } }, 'spec.sanitizer.rules[0].name', /built-in preset/],
    ['unknown rule action', { sanitizer: { rules: [{ name: 'x', pattern: 'x', action: 'encrypt' }] } }, 'spec.sanitizer.rules[0].action', /redact/],
    ['duplicate rule names', { sanitizer: { rules: [{ name: 'x', pattern: 'a' }, { name: 'x', pattern: 'b' }] } }, 'spec.sanitizer.rules[1].name', /duplicate/],
    ['duplicate user names', { access: { users: [{ name: 'alice' }, { name: 'alice', role: 'admin' }] } }, 'spec.access.users[1].name', /duplicate user name/],
    ['user name breaking SQL quoting', { access: { users: [{ name: "bob'; DROP USER x; --" }] } }, 'spec.access.users[0].name', /lower-case letters/],
    ['user name with backtick', { access: { users: [{ name: 'eve`' }] } }, 'spec.access.users[0].name', /lower-case letters/],
    ['unknown role', { access: { users: [{ name: 'bob', role: 'owner' }] } }, 'spec.access.users[0].role', /viewer/],
    ['nobody can ingest', { access: { users: [] } }, 'spec.access.users', /nobody could send/],
    ['impossible storage quantity', { clickhouse: { storage: { size: '10GB' } } }, 'spec.clickhouse.storage.size', /Kubernetes quantity/],
    ['storage too small', { clickhouse: { storage: { size: '100Mi' } } }, 'spec.clickhouse.storage.size', /at least 1Gi/],
    ['negative memory', { collector: { resources: { limits: { memory: '-1Gi' } } } }, 'spec.collector.resources.limits.memory', /quantity/],
    ['request above limit', { collector: { resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } } }, 'spec.collector.resources.requests.memory', /must not exceed/],
    ['zero replicas', { collector: { replicas: 0 } }, 'spec.collector.replicas', /at least 1/],
    ['node port out of range', { collector: { service: { type: 'NodePort', nodePorts: { otlpGrpc: 4317 } } } }, 'spec.collector.service.nodePorts.otlpGrpc', /at least 30000/],
    ['same node port twice', { collector: { service: { nodePorts: { otlpGrpc: 30400, otlpHttp: 30400 } } } }, 'spec.collector.service.nodePorts.otlpHttp', /must differ/],
    ['ClickHouse on a collector node port', { collector: { service: { type: 'NodePort' } }, clickhouse: { service: { type: 'NodePort', nodePort: 30318 } } }, 'spec.clickhouse.service.nodePort', /must differ from the collector's node ports/],
    ['ClickHouse node port out of range', { clickhouse: { service: { type: 'NodePort', nodePort: 8123 } } }, 'spec.clickhouse.service.nodePort', /at least 30000/],
    ['external mode without connection', { clickhouse: { mode: 'external' } }, 'spec.clickhouse.external', /required when mode is external/],
    ['external settings with in-cluster mode', { clickhouse: { external: { endpoint: 'https://ch:8443', credentialsSecret: { name: 's' } } } }, 'spec.clickhouse.external', /only used with mode: external/],
    ['external endpoint with credentials in it', { clickhouse: { mode: 'external', external: { endpoint: 'https://admin:pw@ch:8443', credentialsSecret: { name: 's' } } } }, 'spec.clickhouse.external.endpoint', /HTTP\(S\) endpoint/],
    ['disk cap larger than the volume', { retention: { maxDiskGiB: 50 }, clickhouse: { storage: { size: '20Gi' } } }, 'spec.retention.maxDiskGiB', /must fit/],
    ['unknown level', { level: 'verbose' }, 'spec.level', /basic/],
    ['misspelled field', { retension: { eventsDays: 3 } }, 'spec', /unknown field "retension"/],
    ['database name injection', { clickhouse: { database: 'x; DROP DATABASE y' } }, 'spec.clickhouse.database', /identifier/],
  ];

  it.each(invalid)('rejects %s at the right field path', (_label, spec, path, message) => {
    expectRefusedAt(spec, path, message);
  });

  it('rejects a stack name that cannot prefix Service names', () => {
    for (const name of ['1team', 'Team', 'a'.repeat(41), 'team_a']) {
      const result = validateStack({ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name }, spec: {} });
      expect(result.ok ? [] : result.problems.map((p) => p.path)).toContain('metadata.name');
    }
  });

  it('never puts a secret into the resource: there is no field for one', () => {
    const result = validateStack({ clickhouse: { password: 'hunter2' } });
    expect(result.ok).toBe(false);
  });
});
