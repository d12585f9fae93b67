/**
 * The optional Grafana component: objects valid for Kubernetes, restricted pods, no secret in
 * any ConfigMap, a read-only data source, and dashboards built only from queries/*.sql whose
 * panels return exactly what `report` returns (run on the embedded ClickHouse engine).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { GRAFANA_USER } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { DASHBOARDS, DATASOURCE_UID, panelSql } from '../src/charts/grafana/dashboards.ts';
import { render } from '../src/charts/render.ts';
import { generateSecrets, SECRET_KEYS } from '../src/stack/secrets.ts';
import { DEFAULT_IMAGES } from '../src/versions.ts';
import { handMadeExport } from './fixtures/hand-made.ts';
import { insertExport, schemaTarget } from './support/clickhouse.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';
import { ROOT, stackFrom } from './support/stacks.ts';

const library = loadLibrary();
const enabled = stackFrom({ grafana: { enabled: true } }, 'team', 'obs');
const objects = render(enabled).objects;
const grafanaObjects = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'grafana');
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as any;

describe('grafana component', () => {
  it('is off by default: no objects, no Secret', () => {
    const stack = stackFrom({});
    expect(stack.spec.grafana).toMatchObject({ enabled: false, image: DEFAULT_IMAGES.grafana });
    expect(render(stack).objects.some((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'grafana')).toBe(false);
    expect(generateSecrets(stack).some((s) => s.metadata.name.endsWith('-grafana'))).toBe(false);
  });

  it('renders a Deployment, a Service, two ConfigMaps and a NetworkPolicy that validate against the Kubernetes schema', async () => {
    expect(grafanaObjects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/team-grafana-dashboards',
      'ConfigMap/team-grafana-provisioning',
      'Deployment/team-grafana',
      'NetworkPolicy/team-grafana',
      'Service/team-grafana',
    ]);
    for (const object of grafanaObjects) expect(await kubeSchemaErrors(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
  });

  it('runs under the restricted profile with a read-only root filesystem and the pinned plugin', () => {
    const pod = find('Deployment', 'team-grafana').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 472, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    const [container] = pod.containers;
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.image).toBe(DEFAULT_IMAGES.grafana);
    expect(container.env).toContainEqual({ name: 'GF_PLUGINS_PREINSTALL_SYNC', value: expect.stringMatching(/^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/) });
    // Every path Grafana writes to is a volume.
    expect(container.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly).map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/grafana', '/var/log/grafana']);
  });

  it('provisions the ClickHouse data source read-only as the read-only user, with passwords only from the Secret', () => {
    const provisioning = find('ConfigMap', 'team-grafana-provisioning');
    const datasource = parse(provisioning.data['datasource.yaml']).datasources[0];
    expect(datasource).toMatchObject({
      uid: DATASOURCE_UID,
      type: 'grafana-clickhouse-datasource',
      editable: false,
      jsonData: { host: 'team-clickhouse.obs.svc.cluster.local', port: 8123, protocol: 'http', username: GRAFANA_USER, defaultDatabase: 'claude_code' },
      secureJsonData: { password: '${CLICKHOUSE_PASSWORD}' },
    });
    const env = find('Deployment', 'team-grafana').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'CLICKHOUSE_PASSWORD', valueFrom: { secretKeyRef: { name: 'team-grafana', key: SECRET_KEYS.password, optional: false } } });
    expect(env).toContainEqual({ name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'team-grafana', key: SECRET_KEYS.adminPassword, optional: false } } });

    const secrets = generateSecrets(enabled);
    const grafanaSecret = secrets.find((s) => s.metadata.name === 'team-grafana')!;
    expect(grafanaSecret.stringData[SECRET_KEYS.username]).toBe(GRAFANA_USER);
    const secretValues = secrets.flatMap((s) => Object.values(s.stringData)).filter((v) => v.length >= 16);
    for (const configMap of objects.filter((o) => o.kind === 'ConfigMap') as any[]) {
      for (const text of Object.values(configMap.data as Record<string, string>)) for (const value of secretValues) expect(text).not.toContain(value);
    }
  });

  it('an external ClickHouse is reached at its endpoint', () => {
    const external = stackFrom({ grafana: { enabled: true }, clickhouse: { mode: 'external', external: { endpoint: 'https://ch.example.internal:8443', credentialsSecret: { name: 'ch-admin' } } } });
    const datasource = parse((render(external).objects.find((o) => o.metadata.name === 'telemetry-grafana-provisioning') as any).data['datasource.yaml']).datasources[0];
    expect(datasource.jsonData).toMatchObject({ host: 'ch.example.internal', port: 8443, secure: true });
  });
});

describe('dashboards from queries/*.sql', () => {
  const configMap = find('ConfigMap', 'team-grafana-dashboards');
  const dashboards = Object.values(configMap.data as Record<string, string>).map((text) => JSON.parse(text));

  it('are the four dashboards, and reference only query files that exist', () => {
    expect(dashboards.map((d) => d.title).sort()).toEqual(['Claude Code: adoption', 'Claude Code: spend', 'Claude Code: tokens and cache', 'Claude Code: tools and errors']);
    for (const definition of DASHBOARDS) {
      for (const name of definition.queries) expect(existsSync(join(ROOT, 'queries', `${name}.sql`)), `queries/${name}.sql (dashboard ${definition.uid})`).toBe(true);
    }
  });

  it('each panel runs its library query\'s SQL with parameters bound to the time range or a variable, nothing else', () => {
    const byName = new Map(library.map((q) => [q.name, q]));
    for (const dashboard of dashboards) {
      for (const panel of dashboard.panels) {
        const query = byName.get(panel.title)!;
        expect(query, panel.title).toBeDefined();
        const sql: string = panel.targets[0].rawSql;
        expect(sql).toBe(panelSql(query));
        expect(sql).not.toMatch(/\{\w+:[^}]+\}/);
        expect(panel.datasource.uid).toBe(DATASOURCE_UID);
        for (const variable of sql.match(/\$\{(\w+)/g) ?? []) {
          expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toContain(variable.slice(2));
        }
      }
    }
  });

  describe('on the embedded ClickHouse engine, a panel and its report return the same rows', () => {
    let target: SqlTarget;
    beforeAll(async () => {
      target = await schemaTarget();
      await insertExport(target, handMadeExport());
    }, 120_000);
    afterAll(async () => {
      await target?.close();
    });

    /** What Grafana and the ClickHouse plugin substitute before sending the SQL. */
    function expandAsGrafana(sql: string, from: Date, to: Date, variables: Map<string, string>): string {
      return sql
        .replaceAll('$__fromTime', `toDateTime(${Math.floor(from.getTime() / 1000)}, 'UTC')`)
        .replaceAll('$__toTime', `toDateTime(${Math.floor(to.getTime() / 1000)}, 'UTC')`)
        .replace(/\$\{(\w+):sqlstring\}/g, (_m, name: string) => `'${(variables.get(name) ?? '').replace(/'/g, "''")}'`)
        .replace(/\$\{(\w+)\}/g, (_m, name: string) => variables.get(name) ?? '');
    }

    it('for every panel over a time range covering the fixture', async () => {
      const from = new Date('2026-10-01T00:00:00Z');
      const to = new Date('2026-11-30T12:00:00Z');
      let compared = 0;
      let nonEmpty = 0;
      for (const dashboard of dashboards) {
        const variables = new Map<string, string>(dashboard.templating.list.map((v: { name: string; query: string }) => [v.name, v.query]));
        for (const panel of dashboard.panels) {
          const query = library.find((q) => q.name === panel.title)!;
          const given: Record<string, string> = { ...(query.params.some((p) => p.name === 'from') ? { from: '2026-10-01' } : {}), ...(query.params.some((p) => p.name === 'to') ? { to: '2026-11-30' } : {}) };
          const report = await target.query(query.sql, bindParams(query, given));
          const panelRows = await target.query(expandAsGrafana(panel.targets[0].rawSql, from, to, variables));
          expect(panelRows, `${dashboard.uid} / ${panel.title}`).toEqual(report);
          compared++;
          if (report.length > 0) nonEmpty++;
        }
      }
      expect(compared).toBe(DASHBOARDS.reduce((n, d) => n + d.queries.length, 0));
      // The fixture exercises the queries: equal empty results would prove nothing.
      expect(nonEmpty).toBeGreaterThanOrEqual(compared - 2);
    });
  });
});
