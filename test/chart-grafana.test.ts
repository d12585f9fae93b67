/**
 * The optional Grafana component: objects valid for Kubernetes, restricted pods, no secret in
 * any ConfigMap, a read-only data source, and dashboards built only from queries/*.sql whose
 * panels return exactly what `report` returns (run on the embedded ClickHouse engine).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parse } from 'yaml';
import { bindParams, type LibraryQuery, loadLibrary } from '../src/clickhouse/queries.ts';
import { GRAFANA_USER } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { DASHBOARDS, DATASOURCE_TYPE, DATASOURCE_UID, panelSql } from '../src/charts/grafana/dashboards.ts';
import { render } from '../src/charts/render.ts';
import { generateSecrets, SECRET_KEYS } from '../src/stack/secrets.ts';
import { DEFAULT_IMAGES, VERSIONS } from '../src/versions.ts';
import { GRAFANA_IMAGE_PLUGINS_DIR } from '../src/api/constants.ts';
import { handMadeExport } from './fixtures/hand-made.ts';
import { insertExport, schemaTarget } from './support/clickhouse.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';

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

  it('keeps nothing provisioning cannot recreate: every volume is empty or a ConfigMap', () => {
    const volumes = find('Deployment', 'team-grafana').spec.template.spec.volumes as Record<string, unknown>[];
    for (const volume of volumes) expect(Object.keys(volume).filter((key) => key !== 'name'), String(volume.name)).toSatisfy((keys: string[]) => keys.length === 1 && ['emptyDir', 'configMap'].includes(keys[0]!));
    expect(render(enabled).objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.labels?.['app.kubernetes.io/component'] === 'grafana')).toBe(false);
  });

  it('with plugins: image, starts without the network: the plugin from the image, nothing fetched at start', () => {
    const offline = render(stackFrom({ grafana: { enabled: true, plugins: 'image', image: 'registry.example/grafana-clickhouse:1' } }, 'team', 'obs')).objects;
    const pod = (offline.find((o) => o.kind === 'Deployment' && o.metadata.name === 'team-grafana') as any).spec.template.spec;
    const env = new Map<string, string>(pod.containers[0].env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.has('GF_PLUGINS_PREINSTALL_SYNC')).toBe(false);
    expect(env.get('GF_PLUGINS_PREINSTALL_DISABLED')).toBe('true');
    expect(env.get('GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED')).toBe('true');
    const pluginsDir = env.get('GF_PATHS_PLUGINS')!;
    expect(pluginsDir).toBe(GRAFANA_IMAGE_PLUGINS_DIR);
    // Not under a mounted volume, which would hide what the image holds there.
    for (const mount of pod.containers[0].volumeMounts as { mountPath: string }[]) expect(`${pluginsDir}/`.startsWith(`${mount.mountPath}/`), mount.mountPath).toBe(false);
    // The Dockerfile the docs give installs the pinned plugin where the chart looks for it, on the pinned Grafana.
    const docs = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const dockerfile = /```Dockerfile\n([\s\S]*?)```/.exec(docs.slice(docs.indexOf('### Grafana without internet access')))?.[1] ?? '';
    expect(dockerfile).toContain(`FROM ${DEFAULT_IMAGES.grafana}\n`);
    expect(dockerfile).toContain(`--pluginsDir ${GRAFANA_IMAGE_PLUGINS_DIR} plugins install ${DATASOURCE_TYPE} ${VERSIONS.grafanaClickhousePlugin}`);
    const example = /```yaml\n([\s\S]*?)```/.exec(docs.slice(docs.indexOf('### Grafana without internet access')))?.[1] ?? '';
    expect(stackFrom((parse(example) as { spec: unknown }).spec).spec.grafana).toMatchObject({ enabled: true, plugins: 'image' });
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
  const byName = new Map(library.map((q) => [q.name, q]));
  /** The library query and fixed parameters a panel names in its description: `same as "telemetry-stack report NAME --param k=v"`. */
  function panelQuery(panel: { description: string; title: string }) {
    const command = /same as "telemetry-stack report ([\w-]+)((?: --param \w+=\S+?)*)"\)$/.exec(panel.description);
    expect(command, `panel "${panel.title}" names its report`).not.toBeNull();
    const query = byName.get(command![1]!)!;
    expect(query, command![1]).toBeDefined();
    const fixed = Object.fromEntries([...command![2]!.matchAll(/--param (\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    return { query, fixed };
  }
  const panelCount = DASHBOARDS.reduce((n, d) => n + d.panels.length, 0);

  it('are the five dashboards, and reference only query files that exist', () => {
    expect(dashboards.map((d) => d.title).sort()).toEqual(['Claude Code: adoption', 'Claude Code: overview', 'Claude Code: spend', 'Claude Code: tokens and cache', 'Claude Code: tools and errors']);
    for (const definition of DASHBOARDS) {
      for (const panel of definition.panels) expect(existsSync(join(ROOT, 'queries', `${panel.query}.sql`)), `queries/${panel.query}.sql (dashboard ${definition.uid})`).toBe(true);
    }
  });

  it('each panel runs its library query\'s SQL with parameters bound to the time range, a fixed value or a variable, nothing else', () => {
    for (const dashboard of dashboards) {
      for (const panel of dashboard.panels) {
        const { query, fixed } = panelQuery(panel);
        const sql: string = panel.targets[0].rawSql;
        expect(sql).toBe(panelSql(query, fixed));
        // No ClickHouse placeholder is left (Grafana's own ${name:format} is not one).
        expect(sql).not.toMatch(/(?<!\$)\{\w+:[^}]+\}/);
        expect(panel.datasource.uid).toBe(DATASOURCE_UID);
        for (const variable of sql.match(/\$\{(\w+)/g) ?? []) {
          expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toContain(variable.slice(2));
        }
      }
    }
  });

  it('the overview leads with headline numbers in units, charts by user and model, and user and model pickers', () => {
    const overview = dashboards.find((d) => d.uid === 'claude-code-overview');
    expect(overview.time).toEqual({ from: 'now/M', to: 'now' });
    const stats = overview.panels.filter((p: { type: string }) => p.type === 'stat');
    expect(stats.map((p: { title: string; fieldConfig: { defaults: { unit: string } } }) => `${p.title} [${p.fieldConfig.defaults.unit}]`)).toEqual([
      'Spend [currencyUSD]', 'Active users [none]', 'Sessions [none]', 'API requests [short]', 'API error rate [percentunit]', 'Cache hit rate [percentunit]',
    ]);
    // The stats share the top row.
    expect(new Set(stats.map((p: { gridPos: { y: number } }) => p.gridPos.y))).toEqual(new Set([0]));
    expect(overview.panels.filter((p: { type: string }) => p.type === 'timeseries').map((p: { title: string }) => p.title)).toEqual([
      'Spend per day by user', 'Spend per day by model', 'Tokens per day by model', 'Tokens per day by user',
    ]);
    const pickers = overview.templating.list.filter((v: { type: string }) => v.type === 'query');
    expect(pickers.map((v: { name: string; includeAll: boolean; allValue: string }) => `${v.name}:${v.includeAll}:${v.allValue}`)).toEqual(['user:true:*', 'model:true:*']);
  });

  it('validate against Grafana\'s published schema (@grafana/schema), as emitted', () => {
    // The JSON the ConfigMap holds, compiled against the schema's types: a field Grafana does not
    // know or a value outside its enums is a compile error, whatever code produced it.
    const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache-grafana-schema-'));
    try {
      const file = join(dir, 'dashboards.ts');
      const schema = join(ROOT, 'src', 'charts', 'grafana', 'grafana-schema.ts');
      writeFileSync(file, [
        `import type { DashboardJson } from ${JSON.stringify(schema)};`,
        ...dashboards.map((d, i) => `export const d${i} = ${JSON.stringify(d)} satisfies DashboardJson;`),
      ].join('\n'));
      const program = ts.createProgram([file], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, allowImportingTsExtensions: true, skipLibCheck: true });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
      // And the check can fail: an unknown panel field is refused.
      writeFileSync(file, `import type { DashboardJson } from ${JSON.stringify(schema)};\nexport const d = ${JSON.stringify({ ...dashboards[0], panels: [{ ...dashboards[0].panels[0], colour: 'red' }] })} satisfies DashboardJson;`);
      const broken = ts.createProgram([file], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, allowImportingTsExtensions: true, skipLibCheck: true });
      expect(ts.getPreEmitDiagnostics(broken).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n')).toMatch(/colour/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

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
    /** Each variable's value as the dashboard opens: a picker on "All" stands for its allValue. */
    const opening = (dashboard: { templating: { list: { name: string; query: string; current: { value: string }; allValue?: string }[] } }) =>
      new Map<string, string>(dashboard.templating.list.map((v) => [v.name, v.current.value === '$__all' ? v.allValue! : v.query]));

    const from = new Date('2026-10-01T00:00:00Z');
    const to = new Date('2026-11-30T12:00:00Z');
    const range = (query: LibraryQuery) => ({ ...(query.params.some((p) => p.name === 'from') ? { from: '2026-10-01' } : {}), ...(query.params.some((p) => p.name === 'to') ? { to: '2026-11-30' } : {}) });

    it('for every panel over a time range covering the fixture', async () => {
      let compared = 0;
      let nonEmpty = 0;
      for (const dashboard of dashboards) {
        const variables = opening(dashboard);
        for (const panel of dashboard.panels) {
          const { query, fixed } = panelQuery(panel);
          const report = await target.query(query.sql, bindParams(query, { ...range(query), ...fixed }));
          const panelRows = await target.query(expandAsGrafana(panel.targets[0].rawSql, from, to, variables));
          expect(panelRows, `${dashboard.uid} / ${panel.title}`).toEqual(report);
          compared++;
          if (report.length > 0) nonEmpty++;
        }
      }
      expect(compared).toBe(panelCount);
      // The fixture exercises the queries: equal empty results would prove nothing.
      expect(nonEmpty).toBeGreaterThanOrEqual(compared - 2);
    });

    it('with a user and a model picked, the overview\'s panels are the reports with --param user= and model=', async () => {
      const overview = dashboards.find((d) => d.uid === 'claude-code-overview');
      const user = (await target.query<{ user: string }>('SELECT user FROM claude_code_usage ORDER BY cost_usd DESC LIMIT 1'))[0]!.user;
      const model = (await target.query<{ model: string }>('SELECT model FROM claude_code_usage ORDER BY cost_usd DESC LIMIT 1'))[0]!.model;
      const variables = new Map([...opening(overview), ['user', user], ['model', model]]);
      const headline = byName.get('headline')!;
      const all = await target.query<{ cost_usd: number }>(headline.sql, bindParams(headline, range(headline)));
      for (const panel of overview.panels) {
        const { query, fixed } = panelQuery(panel);
        if (!query.params.some((p) => p.name === 'user')) continue;
        const report = await target.query(query.sql, bindParams(query, { ...range(query), ...fixed, user, model }));
        expect(await target.query(expandAsGrafana(panel.targets[0].rawSql, from, to, variables)), panel.title).toEqual(report);
      }
      // Picking narrows: one user's spend on one model is part of the team's.
      const picked = await target.query<{ cost_usd: number }>(headline.sql, bindParams(headline, { ...range(headline), user, model }));
      expect(picked[0]!.cost_usd).toBeGreaterThan(0);
      expect(picked[0]!.cost_usd).toBeLessThan(all[0]!.cost_usd);
    });

    it('a chart\'s "by" is user or model, nothing else silently', async () => {
      for (const name of ['spend-over-time', 'tokens-over-time']) {
        const query = byName.get(name)!;
        await expect(target.query(query.sql, bindParams(query, { by: 'team' }))).rejects.toThrow(/by must be user or model/);
      }
    });

    it('the headline numbers are the other reports\' totals', async () => {
      const run = async <T,>(name: string, extra: Record<string, string> = {}) => target.query<T>(byName.get(name)!.sql, bindParams(byName.get(name)!, { ...range(byName.get(name)!), ...extra }));
      const [head] = await run<Record<string, number>>('headline');
      const byUser = await run<{ cost_usd: number; requests: number }>('cost-by-user');
      const errors = await run<{ errors: number }>('api-errors');
      const cache = await run<{ input_tokens: number; cache_read_tokens: number; cache_creation_tokens: number }>('cache-efficiency');
      const spend = await run<{ cost_usd: number }>('spend-over-time');
      const sum = <T,>(rows: readonly T[], pick: (row: T) => number) => rows.reduce((n, row) => n + Number(pick(row)), 0);
      expect(Number(head!.cost_usd)).toBeCloseTo(sum(byUser, (r) => r.cost_usd), 6);
      expect(sum(spend, (r) => r.cost_usd)).toBeCloseTo(Number(head!.cost_usd), 5);
      expect(Number(head!.requests)).toBe(sum(byUser, (r) => r.requests));
      expect(Number(head!.api_errors)).toBe(sum(errors, (r) => r.errors));
      const failed = Number(head!.api_errors);
      expect(Number(head!.error_rate)).toBeCloseTo(failed / (failed + Number(head!.requests)), 4);
      const read = sum(cache, (r) => r.cache_read_tokens);
      expect(Number(head!.cache_hit_ratio)).toBeCloseTo(read / (read + sum(cache, (r) => r.input_tokens) + sum(cache, (r) => r.cache_creation_tokens)), 4);
      expect(Number(head!.active_users)).toBeGreaterThan(0);
      expect(Number(head!.sessions)).toBeGreaterThan(0);
    });
  });
});
