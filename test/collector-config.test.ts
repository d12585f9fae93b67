import { describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { render } from '../src/charts/render.ts';
import { IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { LEVEL_PROCESSOR, METRIC_LEVEL_PROCESSOR } from '../src/sanitizer/compile.ts';
import { LIFTED_TOOL_PARAMETERS, REMOVED_KEYS_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { FREE_TEXT_ATTRIBUTES } from '../src/sanitizer/levels.ts';
import { stackFrom } from '../harness/stacks.ts';

type Config = {
  receivers: Record<string, any>;
  processors: Record<string, any>;
  exporters: Record<string, any>;
  extensions: Record<string, any>;
  service: { extensions: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
};

const configFor = (spec: unknown) => render(stackFrom(spec)).collectorConfig as unknown as Config;

describe('collector configuration', () => {
  it.each(LEVELS)('level %s: structurally complete, every referenced component defined and every defined one used', (level) => {
    const config = configFor({ level });
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['logs', 'metrics']);
    const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        expect(pipeline[kind].length, kind).toBeGreaterThan(kind === 'processors' ? 2 : 0);
        for (const id of pipeline[kind]) {
          expect(config[kind][id], `${kind} ${id} referenced but not defined`).toBeDefined();
          used[kind].add(id);
        }
      }
    }
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      expect([...used[kind]].sort()).toEqual(Object.keys(config[kind]).sort());
    }
    expect(config.service.extensions.sort()).toEqual(Object.keys(config.extensions).sort());
    expect(config.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(config.extensions.health_check).toBeDefined();
  });

  it.each(LEVELS)('level %s: memory limiter first, identity stamped last (after the sanitizer), no batch processor before the persistent queue', (level) => {
    const config = configFor({ level });
    for (const pipeline of Object.values(config.service.pipelines)) {
      const order = pipeline.processors;
      expect(order[0]).toBe('memory_limiter');
      expect(order.at(-2)).toBe('transform/sanitize');
      expect(order.at(-1)).toBe('attributes/identity');
      // Batching happens inside the exporter's persistent sending queue, after the data is on disk.
      expect(order.some((id) => id.startsWith('batch'))).toBe(false);
    }
    const exporter = config.exporters.clickhouse;
    expect(exporter.create_schema).toBe(false);
    expect(exporter.sending_queue.storage).toBe('file_storage/queue');
    expect(exporter.sending_queue.batch).toBeDefined();
    expect(config.extensions['file_storage/queue'].directory).toBe('/var/lib/otelcol/queue');
    expect(exporter.retry_on_failure.max_elapsed_time).toBe('0s');
  });

  it('authenticates every OTLP protocol and stamps the authenticated user, overwriting what the client sent', () => {
    const config = configFor({});
    for (const protocol of ['grpc', 'http']) {
      expect(config.receivers.otlp.protocols[protocol].auth).toEqual({ authenticator: 'basicauth/ingest' });
    }
    expect(config.extensions['basicauth/ingest'].htpasswd.file).toBe('/etc/otelcol/auth/htpasswd');
    expect(config.processors['attributes/identity'].actions).toEqual([
      { key: IDENTITY_ATTRIBUTE, from_context: 'auth.username', action: 'upsert' },
    ]);
  });

  it('anonymous ingestion only when the spec says so, stamped "anonymous"', () => {
    const config = configFor({ access: { allowAnonymousIngestion: true } });
    expect(config.receivers.otlp.protocols.grpc.auth).toBeUndefined();
    expect(config.extensions['basicauth/ingest']).toBeUndefined();
    expect(config.processors['attributes/identity'].actions[0]).toMatchObject({ key: IDENTITY_ATTRIBUTE, value: 'anonymous', action: 'upsert' });
  });

  it('basic keeps no events; enhanced keeps the allow-lists; full keeps everything (sanitized); metrics keep their dimensions below full', () => {
    const basic = configFor({ level: 'basic' });
    expect(basic.service.pipelines.logs!.processors).toContain('filter/level');
    expect(basic.processors['filter/level'].logs.log_record).toEqual(['true']);
    expect(basic.service.pipelines.metrics!.processors).toContain(METRIC_LEVEL_PROCESSOR);

    const enhanced = configFor({ level: 'enhanced' });
    const groups: { error_mode?: string; statements: string[] }[] = enhanced.processors[LEVEL_PROCESSOR].log_statements;
    // The lift's errors would quote tool_parameters: its group is silent.
    const lift = groups.findIndex((group) => group.statements.some((s) => s.startsWith('set(log.cache["tool_parameters"]')));
    expect(groups[lift]!.error_mode).toBe('silent');
    const statements = groups.flatMap((group) => group.statements);
    // First what the lists key on is made whole (the event name from the OTLP field, the status of
    // repeated 529s), then the lift, then the allow-list, which ends by naming what it removed.
    expect(statements[0]).toContain('log.event_name');
    const lifted = statements.findIndex((s) => s.startsWith('set(log.cache["tool_parameters"]'));
    expect(statements.slice(0, lifted).some((s) => s.includes('status_code'))).toBe(true);
    expect(statements.findIndex((s) => s.startsWith('keep_matching_keys('))).toBeGreaterThan(lifted + LIFTED_TOOL_PARAMETERS.length);
    expect(statements.at(-1)).toContain(`set(log.attributes["${REMOVED_KEYS_ATTRIBUTE}"]`);
    for (const key of FREE_TEXT_ATTRIBUTES) expect(statements.join('\n')).not.toContain(`"${key}",`);
    expect(enhanced.service.pipelines.metrics!.processors).not.toContain(LEVEL_PROCESSOR);
    expect(enhanced.service.pipelines.metrics!.processors).toContain(METRIC_LEVEL_PROCESSOR);

    // full: only the lift, no allow-list.
    const full = configFor({ level: 'full' });
    expect(full.service.pipelines.logs!.processors.filter((id) => id.includes('level'))).toEqual([LEVEL_PROCESSOR]);
    expect(JSON.stringify(full.processors[LEVEL_PROCESSOR].log_statements)).not.toContain('keep_matching_keys');
    expect(full.service.pipelines.metrics!.processors.filter((id) => id.includes('level'))).toEqual([]);
  });

  it('sanitizer: presets on by default, disabled ones left out, custom rules after presets', () => {
    const all = JSON.stringify(configFor({}).processors['transform/sanitize']);
    expect(all).toContain('[REDACTED:github-tokens]');
    expect(all).toContain('[HASH:email-addresses:%s]');
    const fewer = configFor({
      sanitizer: { disabledPresets: ['github-tokens'], rules: [{ name: 'ticket', pattern: 'TICKET-[0-9]+', targets: ['body'] }] },
    }).processors['transform/sanitize'];
    const text = JSON.stringify(fewer);
    expect(text).not.toContain('[REDACTED:github-tokens]');
    const logStatements: string[] = fewer.log_statements.find((g: any) => g.context === 'log').statements;
    const bodyRule = logStatements.findIndex((s) => s.includes('[REDACTED:ticket]'));
    expect(bodyRule).toBeGreaterThan(0);
    expect(logStatements[bodyRule]).toMatch(/^replace_pattern\(log\.body, /);
    // targets: [body] only: not applied to attributes, resources or data points.
    expect(text.match(/\[REDACTED:ticket\]/g)).toHaveLength(1);
  });

  it('hash rules read their key from the environment; the key is never in the configuration', () => {
    const processor = configFor({ sanitizer: { rules: [{ name: 'host', pattern: '[a-z]+\\.corp', action: 'hash' }] } }).processors['transform/sanitize'];
    const statement: string = processor.log_statements.find((g: any) => g.context === 'log').statements.find((s: string) => s.includes('HASH:host'));
    expect(statement).toContain('${env:SANITIZER_HASH_KEY}');
    expect(statement).toContain('SHA256');
  });

  it('escapes "$" in patterns for the collector\'s config resolver and quotes for OTTL', () => {
    const processor = configFor({ sanitizer: { rules: [{ name: 'price', pattern: '\\$[0-9]+ "usd"' }] } }).processors['transform/sanitize'];
    const statement: string = processor.log_statements.find((g: any) => g.context === 'log').statements.find((s: string) => s.includes('REDACTED:price') && s.startsWith('replace_pattern'));
    expect(statement).toContain('"\\\\$$[0-9]+ \\"usd\\""');
  });

  it('forwards upstream with its own persistent queue when configured', () => {
    const config = configFor({ upstream: { endpoint: 'central.example.internal:4317', headersSecret: { name: 'central' } } });
    expect(config.exporters['otlp_grpc/upstream']).toMatchObject({
      endpoint: 'central.example.internal:4317',
      headers: { authorization: '${env:UPSTREAM_AUTHORIZATION}' },
      sending_queue: { storage: 'file_storage/queue' },
    });
    for (const pipeline of Object.values(config.service.pipelines)) {
      expect(pipeline.exporters).toEqual(['clickhouse', 'otlp_grpc/upstream']);
    }
  });

  it('sizes the memory limiter from the container limit', () => {
    const config = configFor({ collector: { resources: { limits: { memory: '1Gi' } } } });
    expect(config.processors.memory_limiter).toMatchObject({ limit_mib: 819, spike_limit_mib: 204 });
  });
});
