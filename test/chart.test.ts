import { describe, expect, it } from 'vitest';
import { validateStack } from '../src/api/validate.ts';
import { render, toYaml, type KubeObject } from '../src/charts/render.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { CONFIG_HASH_ANNOTATION, INGEST_AUTH_ANNOTATION, INGEST_USERS_ANNOTATION } from '../src/stack/hash.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';
import { exampleFiles, loadExample, stackFrom } from '../harness/stacks.ts';

const exampleStacks = exampleFiles().map((file) => {
  const result = validateStack(loadExample(file));
  if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.problems)}`);
  return [file, result.stack] as const;
});
const variants = [
  ['defaults', stackFrom({})],
  ['basic level, no queue', stackFrom({ level: 'basic', collector: { persistentQueue: { enabled: false } } })],
  ['full level, anonymous, upstream', stackFrom({
    level: 'full',
    access: { users: [], allowAnonymousIngestion: true },
    upstream: { endpoint: 'https://central.example.internal:4318', protocol: 'http', headersSecret: { name: 'central-auth' } },
  })],
] as const;
const allStacks = [...exampleStacks, ...variants];

type PodTemplate = { metadata?: { annotations?: Record<string, string> }; spec: Record<string, any> };

function podTemplates(objects: KubeObject[]): [KubeObject, PodTemplate][] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))
    .map((o) => [o, (o as any).spec.template as PodTemplate]);
}

describe('chart', () => {
  it.each(allStacks)('%s: every object validates against the Kubernetes OpenAPI schema of its kind', async (_name, stack) => {
    const { objects } = render(stack);
    expect(objects.length).toBeGreaterThan(3);
    for (const object of objects) {
      expect(await kubeSchemaErrors(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
    }
  });

  it('a broken object fails the schema check (the check can fail)', async () => {
    const bad = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'not-a-port' }] } };
    expect(await kubeSchemaErrors(bad)).toMatch(/port/);
  });

  it.each(allStacks)('%s: every pod runs under the restricted Pod Security profile', (_name, stack) => {
    const templates = podTemplates(render(stack).objects);
    expect(templates.length).toBeGreaterThan(0);
    for (const [owner, template] of templates) {
      const pod = template.spec;
      const where = `${owner.kind}/${owner.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      expect(pod.hostNetwork ?? false, where).toBe(false);
      expect(pod.hostPID ?? false, where).toBe(false);
      for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        const sc = container.securityContext ?? {};
        expect(sc.allowPrivilegeEscalation, `${where} ${container.name}`).toBe(false);
        expect(sc.privileged ?? false).toBe(false);
        expect(sc.capabilities?.drop, `${where} ${container.name}`).toEqual(['ALL']);
        expect(sc.capabilities?.add ?? []).toEqual([]);
        expect(sc.runAsUser ?? pod.securityContext.runAsUser).toBeGreaterThan(0);
      }
      for (const volume of pod.volumes ?? []) expect(volume.hostPath, `${where} volume ${volume.name}`).toBeUndefined();
    }
  });

  it.each(allStacks)('%s: no secret material in any ConfigMap or in the rendered output', (_name, stack) => {
    const { objects } = render(stack);
    const rendered = toYaml(objects);
    // Generate a full set of credentials for this stack: none of them may appear in what render() produced.
    for (const secret of generateSecrets(stack)) {
      for (const [key, value] of Object.entries(secret.stringData)) {
        if (value.length < 8 || key === 'username') continue;
        expect(rendered.includes(value), `${secret.metadata.name}.${key}`).toBe(false);
      }
    }
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const configMap of objects.filter((o) => o.kind === 'ConfigMap')) {
      const text = Object.values((configMap as any).data as Record<string, string>).join('\n');
      // Credentials are referenced, never written: environment references only.
      expect(text).not.toMatch(/password\s*[:=]\s*(?!\$\{env:)["']?\w/i);
      expect(text).not.toMatch(/<password(_sha256_hex)?>[^<]/);
    }
  });

  it.each(allStacks)('%s: rendering is deterministic (byte-identical YAML)', (_name, stack) => {
    const first = toYaml(render(stack).objects);
    const second = toYaml(render(structuredClone(stack)).objects);
    expect(second).toBe(first);
  });

  it.each(allStacks)('%s: YAML has no anchors or aliases (what is applied reads as written)', (_name, stack) => {
    const rendered = render(stack);
    for (const text of [toYaml(rendered.objects), rendered.collectorConfigYaml]) {
      expect(text).not.toMatch(/(^|\s)[&*]a\d+(\s|$)/m);
    }
  });

  it.each(allStacks)('%s: names are DNS-1123 labels and objects carry the recommended labels', (_name, stack) => {
    for (const object of render(stack).objects) {
      expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(object.metadata.name.length).toBeLessThanOrEqual(63);
      const labels = object.metadata.labels ?? {};
      for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/component']) {
        expect(labels[key], `${object.kind}/${object.metadata.name} ${key}`).toBeTruthy();
      }
      expect(labels['telemetrystack.io/stack']).toBe(stack.metadata.name);
      if (stack.metadata.namespace) expect(object.metadata.namespace).toBe(stack.metadata.namespace);
    }
  });

  it('the collector pod template carries a hash of its configuration, which changes only with the configuration', () => {
    const hashOf = (spec: unknown) => {
      const rendered = render(stackFrom(spec));
      const [, template] = podTemplates(rendered.objects).find(([o]) => o.metadata.name.endsWith('-collector'))!;
      expect(template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(rendered.collectorConfigHash);
      return rendered.collectorConfigHash;
    };
    const base = hashOf({});
    expect(hashOf({})).toBe(base);
    // Not part of the collector configuration: no rollout.
    expect(hashOf({ collector: { replicas: 3 } })).toBe(base);
    expect(hashOf({ retention: { eventsDays: 10 } })).toBe(base);
    // Part of it: rollout.
    expect(hashOf({ sanitizer: { rules: [{ name: 'x', pattern: 'secret-[0-9]+' }] } })).not.toBe(base);
    expect(hashOf({ level: 'full' })).not.toBe(base);
  });

  it('the collector pod template changes with the set of ingestion users (basicauth reads htpasswd only at start), and holds no secret', () => {
    const collectorAnnotations = (spec: unknown, inputs = {}) => {
      const rendered = render(stackFrom(spec), inputs);
      return podTemplates(rendered.objects).find(([o]) => o.metadata.name.endsWith('-collector'))![1].metadata?.annotations ?? {};
    };
    const owner = { access: { users: [{ name: 'owner', role: 'admin' }] } };
    const base = collectorAnnotations(owner);
    expect(base[INGEST_USERS_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(collectorAnnotations(owner)).toEqual(base);
    // A new user, a renamed user: new pods. A role change (ClickHouse only) or a retention edit: none.
    expect(collectorAnnotations({ access: { users: [{ name: 'owner', role: 'admin' }, { name: 'alice' }] } })[INGEST_USERS_ANNOTATION]).not.toBe(base[INGEST_USERS_ANNOTATION]);
    expect(collectorAnnotations({ access: { users: [{ name: 'owen', role: 'admin' }] } })[INGEST_USERS_ANNOTATION]).not.toBe(base[INGEST_USERS_ANNOTATION]);
    expect(collectorAnnotations({ access: { users: [{ name: 'owner', role: 'viewer' }] } })).toEqual(base);
    expect(collectorAnnotations({ ...owner, retention: { eventsDays: 10 } })).toEqual(base);
    // The operator's digest of the htpasswd Secret (a rotated password) is carried as given; render alone has none.
    expect(base[INGEST_AUTH_ANNOTATION]).toBeUndefined();
    expect(collectorAnnotations(owner, { ingestAuthDigest: 'd'.repeat(64) })[INGEST_AUTH_ANNOTATION]).toBe('d'.repeat(64));
    // Anonymous ingestion mounts no htpasswd: nothing to roll for.
    const anonymous = collectorAnnotations({ access: { users: [], allowAnonymousIngestion: true } }, { ingestAuthDigest: 'd'.repeat(64) });
    expect(anonymous[INGEST_USERS_ANNOTATION]).toBeUndefined();
    expect(anonymous[INGEST_AUTH_ANNOTATION]).toBeUndefined();
    // No generated credential appears anywhere in the rendered objects.
    const stack = stackFrom(owner);
    const manifests = toYaml(render(stack).objects);
    for (const secret of generateSecrets(stack)) for (const value of Object.values(secret.stringData)) if (value.length > 16) expect(manifests).not.toContain(value);
  });

  it('persistent queue on: a StatefulSet with a queue volume per replica; off: a Deployment', () => {
    const withQueue = render(stackFrom({ collector: { replicas: 2, persistentQueue: { size: '3Gi', storageClassName: 'fast' } } })).objects;
    const sts = withQueue.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'telemetry-collector') as any;
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('3Gi');
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast');
    const mounts = sts.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath);
    expect(mounts).toContain('/var/lib/otelcol/queue');

    const withoutQueue = render(stackFrom({ collector: { persistentQueue: { enabled: false } } })).objects;
    expect(withoutQueue.some((o) => o.kind === 'Deployment' && o.metadata.name === 'telemetry-collector')).toBe(true);
    expect(withoutQueue.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'telemetry-collector')).toBe(false);
  });

  it('NodePort services use the fixed node ports from the spec', () => {
    const objects = render(stackFrom({ collector: { service: { type: 'NodePort', nodePorts: { otlpGrpc: 31000, otlpHttp: 31001 } } } })).objects;
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'telemetry-collector') as any;
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports.map((p: any) => [p.port, p.nodePort])).toEqual([[4317, 31000], [4318, 31001]]);
  });

  it('only the collector reaches ClickHouse\'s insert port; HTTP queries only from inside the namespace and the operator', () => {
    const policy = render(stackFrom({})).objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'telemetry-clickhouse') as any;
    const byPort = (port: number) => policy.spec.ingress.filter((rule: any) => rule.ports.some((p: any) => p.port === port));
    const native = byPort(9000);
    expect(native).toHaveLength(1);
    expect(native[0].from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'collector', 'app.kubernetes.io/instance': 'telemetry' } } }]);
    const http = byPort(8123);
    expect(http).toHaveLength(1);
    expect(http[0].from[0]).toEqual({ podSelector: {} });
    expect(http[0].from[1].podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'telemetry-stack-operator' });
  });

  it('with ClickHouse on a node port, its HTTP port is open to any source (a login is still required); the native port is not', () => {
    const policy = render(stackFrom({ clickhouse: { service: { type: 'NodePort' } } })).objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'telemetry-clickhouse') as any;
    const open = policy.spec.ingress.filter((rule: any) => rule.from === undefined);
    expect(open).toEqual([{ ports: [{ port: 8123, protocol: 'TCP' }] }]);
  });

  it('external ClickHouse: no ClickHouse workload, and the exporter points at the external endpoint', () => {
    const result = validateStack(loadExample('external-clickhouse.yaml'));
    if (!result.ok) throw new Error('example invalid');
    const rendered = render(result.stack);
    expect(rendered.objects.filter((o) => o.metadata.name.includes('clickhouse'))).toEqual([]);
    const exporter = (rendered.collectorConfig.exporters as any).clickhouse;
    expect(exporter.endpoint).toBe('https://clickhouse.example.internal:8443');
    expect(exporter.cluster_name).toBe('telemetry');
  });
});
