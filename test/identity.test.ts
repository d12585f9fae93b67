/**
 * Authenticated identity: the rendered collector configuration refuses unauthenticated OTLP
 * (unless the spec allows anonymous ingestion) and stamps the authenticated user over
 * whatever the client sent, in its real processing order, before any batching.
 */
import { describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { render } from '../src/charts/render.ts';
import { IDENTITY_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { logsPipeline } from './support/collector-interpreter.ts';
import { stackFrom } from '../harness/stacks.ts';

type Config = {
  receivers: { otlp: { protocols: Record<string, { auth?: { authenticator: string } }> } };
  processors: Record<string, any>;
  exporters: Record<string, any>;
  extensions: Record<string, any>;
  service: { extensions: string[]; pipelines: Record<string, { processors: string[]; exporters: string[] }> };
};

const ENV = { SANITIZER_HASH_KEY: 'k' };
const forged = { body: 'claude_code.api_request', attributes: { 'event.name': 'api_request', [IDENTITY_ATTRIBUTE]: 'mallory', model: 'claude-opus-4-1', cost_usd: '0.01' } };

describe('authenticated identity', () => {
  it.each(LEVELS.filter((level) => level !== 'basic'))('level %s: a client-sent %s is overwritten by the authenticated user', (level) => {
    const pipeline = logsPipeline(render(stackFrom({ level })).collectorConfigYaml, ENV);
    const stored = pipeline.run(forged, 'alice');
    expect(stored?.attributes?.[IDENTITY_ATTRIBUTE]).toBe('alice');
    expect(stored?.attributes?.model).toBe('claude-opus-4-1');
  });

  it('no sanitizer rule can rewrite or drop the identity: it is stamped after the sanitizer', () => {
    const spec = {
      level: 'full',
      sanitizer: {
        rules: [
          { name: 'names', pattern: 'alice|mallory', action: 'hash' },
          { name: 'gone', pattern: 'ali', action: 'drop' },
        ],
      },
    };
    const pipeline = logsPipeline(render(stackFrom(spec)).collectorConfigYaml, ENV);
    expect(pipeline.order.at(-1)).toBe('attributes/identity');
    expect(pipeline.order.indexOf('transform/sanitize')).toBeLessThan(pipeline.order.indexOf('attributes/identity'));
    expect(pipeline.run(forged, 'alice')?.attributes?.[IDENTITY_ATTRIBUTE]).toBe('alice');
  });

  it.each(LEVELS)('level %s: identity is stamped on logs and metrics, and nothing batches before the exporters', (level) => {
    const config = render(stackFrom({ level })).collectorConfig as unknown as Config;
    expect(config.processors['attributes/identity'].actions).toEqual([{ key: IDENTITY_ATTRIBUTE, from_context: 'auth.username', action: 'upsert' }]);
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      expect(pipeline.processors, name).toContain('attributes/identity');
      // The auth context lives until the first batching step; the only batching is in the
      // exporters' sending queues, which run after every processor.
      expect(pipeline.processors.filter((id) => id.split('/')[0] === 'batch'), name).toEqual([]);
      for (const exporter of pipeline.exporters) expect(config.exporters[exporter].sending_queue.enabled, exporter).toBe(true);
    }
    expect(Object.keys(config.processors).filter((id) => id.startsWith('batch'))).toEqual([]);
  });

  it('refuses unauthenticated OTLP: every protocol requires the basic-auth extension, which reads the per-user htpasswd', () => {
    const config = render(stackFrom({ access: { users: [{ name: 'alice', role: 'admin' }] } })).collectorConfig as unknown as Config;
    for (const [protocol, settings] of Object.entries(config.receivers.otlp.protocols)) {
      expect(settings.auth, protocol).toEqual({ authenticator: 'basicauth/ingest' });
    }
    expect(config.extensions['basicauth/ingest']).toEqual({ htpasswd: { file: '/etc/otelcol/auth/htpasswd' } });
    expect(config.service.extensions).toContain('basicauth/ingest');
  });

  it('accepts anonymous OTLP only when the spec allows it, and then stamps "anonymous" over any client value', () => {
    const stack = stackFrom({ level: 'full', access: { allowAnonymousIngestion: true } });
    const config = render(stack).collectorConfig as unknown as Config;
    for (const settings of Object.values(config.receivers.otlp.protocols)) expect(settings.auth).toBeUndefined();
    expect(config.extensions['basicauth/ingest']).toBeUndefined();
    const pipeline = logsPipeline(render(stack).collectorConfigYaml, ENV);
    expect(pipeline.run(forged)?.attributes?.[IDENTITY_ATTRIBUTE]).toBe('anonymous');
  });
});
