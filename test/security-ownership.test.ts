/**
 * The confused-deputy findings of issue 11: generated names that collide across stacks, objects
 * taken over by server-side apply or by a 409-then-GET, Secrets the spec may name, the ClickHouse
 * NetworkPolicy's operator peer, and the deletion of an external-mode stack whose ClickHouse is
 * gone. Names and the NetworkPolicy are pure; everything about ownership and Secrets runs on a
 * real kube-apiserver (with controllers and kwok, so stacks reach Ready) and the real operator.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCEABLE_LABEL } from '../src/api/constants.ts';
import { STACK_NAME_PATTERN } from '../src/api/resource.ts';
import { USER_NAME_PATTERN } from '../src/api/spec.ts';
import { STACK_LABEL } from '../src/stack/labels.ts';
import { stackNames } from '../src/stack/naming.ts';
import { render, type KubeObject as RenderedObject } from '../src/charts/render.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { Applier, withOwner } from '../src/operator/apply.ts';
import type { ClickHouseLeg } from '../src/operator/clickhouse-leg.ts';
import { sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import { ownerReference, refusedReference, secretReferences } from '../src/operator/credentials.ts';
import type { HttpKubeClient, KubeObject } from '../src/kube/client.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { resourcePath, STACKS } from '../src/operator/resources.ts';
import { userAccessObjects } from '../src/operator/user-access.ts';
import { eventually, impersonateUser, startCluster, type TestCluster } from '../harness/cluster.ts';
import { apply, applyCrd, applyStack, clientFor, condition, createNamespace, eventsWithReason, getStack, objectExists, sharedEmbeddedClickHouse, type StackView } from '../harness/operator.ts';
import { stackFrom } from '../harness/stacks.ts';

// ------------------------------------------------------------------------------------ names

/** Words that make up the names a stack's objects get, so that the generator tries to spell them. */
const WORDS = ['a', 'b', 'user', 'clickhouse', 'admin', 'ingest', 'auth', 'collector', 'config', 'headless', 'grafana', 'sanitizer', 'key', 'credentials', 'nodeport', 'x1'];
const joined = (max: number, pattern: RegExp) =>
  fc
    .array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 })
    .map((words) => words.join('-'))
    .filter((name) => name.length <= max && pattern.test(name));
const longName = (max: number) => fc.stringMatching(new RegExp(`^[a-z][a-z0-9-]{${max - 8},${max - 2}}[a-z0-9]$`));
/** What follows `<stack>-` in a component name ("clickhouse-admin", "collector-config", ...): the likeliest user names to collide. */
const COMPONENT_SUFFIXES = Object.values(stackNames('s')).filter((value): value is string => typeof value === 'string' && value.startsWith('s-')).map((value) => value.slice(2));
const validStack = (name: string) => name.length <= 40 && STACK_NAME_PATTERN.test(name);
const stackName = fc.oneof(joined(40, STACK_NAME_PATTERN), longName(40)).filter(validStack);
const userName = fc.oneof(joined(32, USER_NAME_PATTERN), longName(32), fc.constantFrom(...COMPONENT_SUFFIXES)).filter((name) => name.length <= 32 && USER_NAME_PATTERN.test(name));
const users = fc.uniqueArray(userName, { minLength: 1, maxLength: 3 });
/** Two stack names, the second often the first plus a few words (stack "a" and stack "a-user"), where collisions would hide. */
const EXTENSIONS = ['user', 'user-a', 'a', 'clickhouse', 'collector', 'grafana', 'user-clickhouse'];
const stackPair = fc.oneof(
  fc.tuple(stackName, stackName),
  // Short enough that every extension still makes a valid stack name (a filter that can never pass would loop).
  fc.tuple(joined(24, STACK_NAME_PATTERN), fc.constantFrom(...EXTENSIONS)).map(([first, more]) => [first, `${first}-${more}`] as [string, string]),
);

/** Every name a stack gives an object, by kind: the generated Secrets, the per-user Roles and every fixed name. */
function namesOf(stack: string, userNames: readonly string[]): Map<string, Set<string>> {
  const spec = { grafana: { enabled: true }, access: { users: userNames.map((name) => ({ name, subject: { kind: 'User', name } })) } };
  const validated = stackFrom(spec, stack, 'team');
  const byKind = new Map<string, Set<string>>();
  const add = (kind: string, name: string) => byKind.set(kind, (byKind.get(kind) ?? new Set()).add(name));
  for (const secret of generateSecrets(validated, () => Buffer.alloc(32))) add('Secret', secret.metadata.name);
  for (const object of userAccessObjects(validated)) add(object.kind, object.metadata.name);
  for (const [field, value] of Object.entries(stackNames(stack))) if (typeof value === 'string' && !field.endsWith('Claim')) add('fixed', value);
  return byKind;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('generated names', () => {
  it('two different stacks never share an object name of any kind, whatever their users are called; within a stack each user has their own; every name fits Kubernetes', () => {
    fc.assert(
      fc.property(stackPair, users, users, ([stackA, stackB], usersA, usersB) => {
        fc.pre(stackA !== stackB);
        const a = namesOf(stackA, usersA);
        const b = namesOf(stackB, usersB);
        for (const [kind, names] of a) {
          const shared = [...names].filter((name) => b.get(kind)?.has(name));
          expect(shared, `${kind} names shared by stacks "${stackA}" (users ${usersA}) and "${stackB}" (users ${usersB})`).toEqual([]);
        }
        // Within the stack: one Secret per generated Secret (two cut user names never meet), one Role per user.
        expect(a.get('Secret')!.size).toBe(generateSecrets(stackFrom({ grafana: { enabled: true }, access: { users: usersA.map((name) => ({ name })) } }, stackA), () => Buffer.alloc(32)).length);
        expect(a.get('Role')!.size).toBe(usersA.length);
        for (const [kind, set] of a) {
          for (const name of set) {
            expect(name.length, `${kind} ${name}`).toBeLessThanOrEqual(63);
            expect(name, `${kind} ${name}`).toMatch(DNS_SUBDOMAIN);
          }
        }
        // Services, StatefulSets and the like keep DNS-1123 label names (no dots), never cut at the longest stack name.
        for (const name of a.get('fixed')!) expect(name).toMatch(new RegExp(`^${stackA}-[a-z]([-a-z]*[a-z])?$`));
      }),
      // No shrinking: the first counterexample already names both stacks and their users.
      { numRuns: 1000, seed: 20261130, endOnFailure: true },
    );
  });

  it('the collision of issue 11: stack "a" with user "clickhouse-admin" does not get the admin Secret of stack "a-user"', () => {
    const victim = stackNames('a-user').clickhouseAdminSecret;
    expect(namesOf('a', ['clickhouse-admin']).get('Secret')!.has(victim)).toBe(false);
    expect(namesOf('a', ['clickhouse-admin']).get('Role')!.has(victim)).toBe(false);
    expect(namesOf('a-user', ['owner']).get('Secret')!.has(victim)).toBe(true);
  });

  it('names stay readable: the per-user Secret starts with the stack and ends with the user; a cut name keeps both legible', () => {
    expect(stackNames('team').userSecret('alice')).toBe('team.user.alice');
    const long = stackNames('s'.repeat(40)).userSecret(`u${'v'.repeat(31)}`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(new RegExp(`^s{40}\\.user\\.uv+\\.[0-9a-f]{10}$`));
    // The component names of existing installations are unchanged.
    expect(stackNames('team').clickhouseAdminSecret).toBe('team-clickhouse-admin');
    expect(stackNames('team').collectorConfig).toBe('team-collector-config');
  });
});

// ------------------------------------------------------------------------------------ NetworkPolicy

describe('Secrets the spec names', () => {
  it('every one needs the referenceable mark: the upstream header and CA, the external credentials, the collector\'s TLS certificate', () => {
    const stack = stackFrom({
      collector: { tls: { secretName: 'otlp-tls' } },
      upstream: { endpoint: 'https://central:4318', protocol: 'http', caSecret: { name: 'central-ca' }, headersSecret: { name: 'central-auth' } },
    });
    const references = secretReferences(stack);
    expect(references.map((reference) => [reference.field, reference.name, reference.keys])).toEqual([
      ['spec.upstream.headersSecret', 'central-auth', ['authorization']],
      ['spec.collector.tls.secretName', 'otlp-tls', ['tls.crt', 'tls.key']],
      ['spec.upstream.caSecret', 'central-ca', ['ca.crt']],
    ]);
    const tls = references.find((reference) => reference.name === 'otlp-tls')!;
    const secret = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'otlp-tls', labels }, data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } });
    expect(refusedReference(tls, 'team', secret({}))).toBe(
      `spec.collector.tls.secretName: Secret "otlp-tls" is not labelled ${REFERENCEABLE_LABEL}=true, so no stack may read or send it; if it is meant for this stack, whoever may write that Secret runs: kubectl label secret otlp-tls -n team ${REFERENCEABLE_LABEL}=true`,
    );
    expect(refusedReference(tls, 'team', secret({ [REFERENCEABLE_LABEL]: 'true' }))).toBeUndefined();
  });
});

describe('the ClickHouse NetworkPolicy', () => {
  type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } };
  const httpPeers = (objects: RenderedObject[]): Peer[] => {
    const policy = objects.find((object) => object.kind === 'NetworkPolicy' && object.metadata.name === stackNames('telemetry').networkPolicyClickhouse)!;
    const rules = (policy.spec as { ingress: { from?: Peer[]; ports: { port: number }[] }[] }).ingress;
    return rules.filter((rule) => rule.ports.some((port) => port.port === 8123)).flatMap((rule) => rule.from ?? []);
  };

  it('admits the operator\'s pods only from the operator\'s namespace, never from every namespace', () => {
    for (const [inputs, namespace] of [[{}, 'telemetry-stack-system'], [{ operatorNamespace: 'ops' }, 'ops']] as const) {
      const peers = httpPeers(render(stackFrom({}), inputs).objects);
      const withNamespace = peers.filter((peer) => peer.namespaceSelector !== undefined);
      expect(withNamespace).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'telemetry-stack-operator' } } },
      ]);
    }
  });
});

// ------------------------------------------------------------------------------------ a real API server

const NS = 'deputy';
const EMBEDDED_URL = 'http://embedded.invalid:8123';
const SECRETS = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' };
const CONFIGMAPS = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };
const NETWORKPOLICIES = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' };
const STATEFULSETS = { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' };

let cluster: TestCluster;
let admin: HttpKubeClient;
let clickhouse: Awaited<ReturnType<typeof sharedEmbeddedClickHouse>>;
let operator: RunningOperator;
const removed: string[] = [];
/** Stacks whose ClickHouse leg ran (with the credentials it was handed). */
const reconciled: string[] = [];
/** While set, removing users from an external ClickHouse fails as if it were unreachable. */
let clickhouseGone = false;

function operatorOptions(namespaces: string[], leg: ClickHouseLeg) {
  return {
    client: clientFor(cluster.kubeConfig),
    log: jsonLogger(() => {}, { level: 'error' }),
    inCluster: false,
    namespaces,
    clickhouse: leg,
    clickhouseUrl: EMBEDDED_URL,
    resyncMs: 3_600_000,
    // A person fixes a conflict by deleting or labelling an object the operator does not watch: the retry finds it.
    backoff: { baseMs: 200, capMs: 2_000, jitter: 0.2 },
  };
}

function secret(name: string, stringData: Record<string, string>, metadata: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS, ...metadata }, stringData };
}

async function decoded(path: string): Promise<Record<string, string>> {
  const object = await admin.request<KubeObject>('GET', path);
  return Object.fromEntries(Object.entries((object.data ?? {}) as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
}

/**
 * Waits for Ready=True at the current generation. Unlike the shared waitForReady it does not give
 * up on a condition that needs a person: here the person (the test) has just acted.
 */
function waitForReady(client: HttpKubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<StackView> {
  return eventually(
    `${namespace}/${name} to be Ready`,
    async () => {
      const stack = await getStack(client, namespace, name);
      return condition(stack, 'Ready')?.status === 'True' && stack.status?.observedGeneration === stack.metadata.generation ? stack : undefined;
    },
    timeoutMs,
    250,
  );
}

/** Waits until the stack's current generation reports Ready=False with this reason; returns the stack. */
function refused(name: string, reason: string, timeoutMs = 60_000): Promise<StackView> {
  return eventually(
    `${NS}/${name} to report Ready=False ${reason}`,
    async () => {
      const stack = await getStack(admin, NS, name);
      const ready = condition(stack, 'Ready');
      return ready?.status === 'False' && ready.reason === reason && stack.status?.observedGeneration === stack.metadata.generation ? stack : undefined;
    },
    timeoutMs,
    250,
  );
}

describe('on a real API server', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    cluster = await startCluster({ controllers: true, kwok: true });
    admin = clientFor(cluster.kubeConfig);
    await applyCrd(admin);
    for (const namespace of [NS, 'deputy-legacy']) await createNamespace(admin, namespace);
    clickhouse = await sharedEmbeddedClickHouse();
    const sql = sqlClickHouseLeg(clickhouse.connect);
    operator = await startOperator(
      operatorOptions([NS], {
        reconcile(stack, url, credentials) {
          reconciled.push(`${stack.metadata.namespace}/${stack.metadata.name}`);
          return sql.reconcile(stack, url, credentials);
        },
        async remove(stack, url, credentials) {
          if (clickhouseGone) throw new Error(`connect ECONNREFUSED ${new URL(url).host}`);
          await sql.remove(stack, url, credentials);
          removed.push(`${stack.metadata.namespace}/${stack.metadata.name}`);
        },
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await clickhouse?.close();
    await cluster?.stop();
  }, 60_000);

  it('a Secret with a generated name that someone else made is neither adopted nor read; the stack says so, and goes on once it is gone', async () => {
    const path = resourcePath(SECRETS, NS, stackNames('planted').sanitizerKeySecret);
    // A hash key the planter knows would let them reverse every keyed hash the sanitizer writes.
    const planted = await apply(admin, secret(stackNames('planted').sanitizerKeySecret, { 'hash-key': 'known-to-the-planter' }), path);
    await applyStack(admin, NS, 'planted', {});
    const stack = await refused('planted', 'ObjectConflict');
    expect(condition(stack, 'Ready')!.message).toContain(`Secret "${stackNames('planted').sanitizerKeySecret}" already exists and has no controller`);
    expect(condition(stack, 'Ready')!.message).toContain(`kubectl delete secret ${stackNames('planted').sanitizerKeySecret} -n ${NS}`);
    expect(await eventsWithReason(admin, NS, 'ObjectConflict', 'planted')).toContainEqual(['Warning', condition(stack, 'Ready')!.message.slice(0, 1024)]);
    // Untouched, and nothing that would use it was created.
    const after = await admin.request<KubeObject>('GET', path);
    expect(after.metadata.resourceVersion).toBe(planted.metadata.resourceVersion);
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(await objectExists(admin, resourcePath(STATEFULSETS, NS, stackNames('planted').collector))).toBe(false);

    await admin.request('DELETE', path);
    const ready = await waitForReady(admin, NS, 'planted');
    const generated = await admin.request<KubeObject>('GET', path);
    expect(generated.metadata.ownerReferences).toEqual([ownerReference(ready)]);
    expect((await decoded(path))['hash-key']).not.toBe('known-to-the-planter');
  });

  it('a ConfigMap and a NetworkPolicy of the same names made by someone else are not taken over by server-side apply, labelled or not', async () => {
    const names = stackNames('taken');
    const configPath = resourcePath(CONFIGMAPS, NS, names.collectorConfig);
    const policyPath = resourcePath(NETWORKPOLICIES, NS, names.networkPolicyCollector);
    const config = await apply(admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: names.collectorConfig, namespace: NS }, data: { 'config.yaml': 'exporters: {mine: {}}' } }, configPath);
    // Carrying the stack's label puts it in the operator's list of the stack's objects: the controller reference still decides.
    const policy = await apply(
      admin,
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: names.networkPolicyCollector, namespace: NS, labels: { [STACK_LABEL]: 'taken' } }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] } },
      policyPath,
    );
    await applyStack(admin, NS, 'taken', {});
    const stack = await refused('taken', 'ObjectConflict');
    expect(condition(stack, 'Ready')!.message).toContain(`ConfigMap "${names.collectorConfig}" already exists and has no controller`);
    expect(condition(stack, 'Ready')!.message).toContain(`NetworkPolicy "${names.networkPolicyCollector}" already exists and has no controller`);
    for (const [path, before] of [[configPath, config], [policyPath, policy]] as const) {
      const now = await admin.request<KubeObject>('GET', path);
      expect(now.metadata.resourceVersion, path).toBe(before.metadata.resourceVersion);
      expect(now.metadata.ownerReferences, path).toBeUndefined();
    }
    expect(await objectExists(admin, resourcePath(STATEFULSETS, NS, names.collector))).toBe(false);
    await admin.request('DELETE', configPath);
    await admin.request('DELETE', policyPath);
    await waitForReady(admin, NS, 'taken');
  });

  it('an object created between the check and the apply is not taken over: the create path applies without force', async () => {
    const stack = await getStack(admin, NS, 'taken');
    const name = 'raced-config';
    const path = resourcePath(CONFIGMAPS, NS, name);
    const theirs = await apply(admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { 'config.yaml': 'theirs' } }, path);
    const desired = withOwner({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels: { [STACK_LABEL]: 'taken' } }, data: { 'config.yaml': 'ours' } }, ownerReference(stack));
    // `live` undefined: the stack's list did not show it (the preflight found nothing a moment ago).
    await expect(new Applier(admin).apply(desired, undefined)).rejects.toMatchObject({ name: 'ObjectConflictError', message: expect.stringContaining(`ConfigMap "${name}" already exists and has no controller`) });
    const now = await admin.request<KubeObject>('GET', path);
    expect(now.metadata.resourceVersion).toBe(theirs.metadata.resourceVersion);
    expect(now.data).toEqual({ 'config.yaml': 'theirs' });
  });

  it('stacks "a-user" and "a" (with user "clickhouse-admin") keep their own Secrets, and a subject named by "a" cannot read "a-user"\'s admin Secret', async () => {
    await applyStack(admin, NS, 'a-user', {});
    await waitForReady(admin, NS, 'a-user');
    const adminPath = resourcePath(SECRETS, NS, stackNames('a-user').clickhouseAdminSecret);
    const adminSecret = await admin.request<KubeObject>('GET', adminPath);
    await applyStack(admin, NS, 'a', { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'clickhouse-admin', subject: { kind: 'User', name: 'mallory' } }] } });
    await waitForReady(admin, NS, 'a');
    const mallory = clientFor(impersonateUser(cluster.kubeConfig, 'mallory'));
    const own = await mallory.request<KubeObject>('GET', resourcePath(SECRETS, NS, stackNames('a').userSecret('clickhouse-admin')));
    expect(own.metadata.ownerReferences?.[0]?.name).toBe('a');
    await expect(mallory.request('GET', adminPath)).rejects.toMatchObject({ status: 403 });
    const after = await admin.request<KubeObject>('GET', adminPath);
    expect(after.metadata.resourceVersion).toBe(adminSecret.metadata.resourceVersion);
    expect(after.metadata.ownerReferences?.[0]?.name).toBe('a-user');
  });

  it('upstream.headersSecret: a Secret without the referenceable label is refused with a condition naming the fix; labelled, it is used', async () => {
    const upstream = { endpoint: 'https://central.example.internal:4318', protocol: 'http', headersSecret: { name: 'central-auth' } };
    await apply(admin, secret('central-auth', { authorization: 'Basic c29tZS1zZWNyZXQ=' }), resourcePath(SECRETS, NS, 'central-auth'));
    await applyStack(admin, NS, 'forwarder', { upstream });
    const stack = await refused('forwarder', 'SecretNotReferenceable');
    const message = condition(stack, 'Ready')!.message;
    expect(message).toContain('spec.upstream.headersSecret: Secret "central-auth" is not labelled telemetrystack.io/referenceable=true');
    expect(message).toContain(`kubectl label secret central-auth -n ${NS} telemetrystack.io/referenceable=true`);
    expect(await eventsWithReason(admin, NS, 'SecretNotReferenceable', 'forwarder')).not.toEqual([]);
    // The collector that would send it was never created.
    expect(await objectExists(admin, resourcePath(STATEFULSETS, NS, stackNames('forwarder').collector))).toBe(false);

    await admin.request('PATCH', resourcePath(SECRETS, NS, 'central-auth'), { body: { metadata: { labels: { 'telemetrystack.io/referenceable': 'true' } } }, contentType: 'application/merge-patch+json' });
    await waitForReady(admin, NS, 'forwarder');
    const collector = await admin.request<KubeObject>('GET', resourcePath(STATEFULSETS, NS, stackNames('forwarder').collector));
    expect(JSON.stringify(collector.spec)).toContain('"secretKeyRef":{"name":"central-auth","key":"authorization"');
  });

  it('clickhouse.external.credentialsSecret: refused without the label (nothing is sent to the endpoint), used with it; deleting the stack while ClickHouse is gone waits with a condition until the skip annotation', async () => {
    const endpoint = 'https://clickhouse.example.internal:8443';
    await apply(admin, secret('ext-admin', { username: 'admin', password: 'not-a-real-password' }), resourcePath(SECRETS, NS, 'ext-admin'));
    await applyStack(admin, NS, 'ext', { clickhouse: { mode: 'external', external: { endpoint, credentialsSecret: { name: 'ext-admin' } } } });
    const stack = await refused('ext', 'SecretNotReferenceable');
    expect(condition(stack, 'Ready')!.message).toContain('spec.clickhouse.external.credentialsSecret: Secret "ext-admin" is not labelled telemetrystack.io/referenceable=true');
    expect(reconciled).not.toContain(`${NS}/ext`);

    await admin.request('PATCH', resourcePath(SECRETS, NS, 'ext-admin'), { body: { metadata: { labels: { 'telemetrystack.io/referenceable': 'true' } } }, contentType: 'application/merge-patch+json' });
    await waitForReady(admin, NS, 'ext');
    expect(reconciled).toContain(`${NS}/ext`);

    clickhouseGone = true;
    await admin.request('DELETE', resourcePath(STACKS, NS, 'ext'));
    const waiting = await refused('ext', 'CleanupBlocked');
    const message = condition(waiting, 'Ready')!.message;
    expect(message).toContain(`deletion waits to remove this stack's users from the ClickHouse at ${endpoint}: connect ECONNREFUSED clickhouse.example.internal:8443`);
    expect(message).toContain(`kubectl annotate telemetrystack ext -n ${NS} telemetrystack.io/skip-clickhouse-cleanup=true`);
    expect(await eventsWithReason(admin, NS, 'CleanupBlocked', 'ext')).not.toEqual([]);
    expect(await objectExists(admin, resourcePath(STACKS, NS, 'ext'))).toBe(true);

    await admin.request('PATCH', resourcePath(STACKS, NS, 'ext'), { body: { metadata: { annotations: { 'telemetrystack.io/skip-clickhouse-cleanup': 'true' } } }, contentType: 'application/merge-patch+json' });
    await eventually('the stack to be gone', async () => !(await objectExists(admin, resourcePath(STACKS, NS, 'ext'))), 60_000);
    expect(removed).not.toContain(`${NS}/ext`);
    expect((await eventsWithReason(admin, NS, 'CleanupSkipped', 'ext'))[0]?.[0]).toBe('Warning');
    clickhouseGone = false;
  });

  it('upgrading: a user Secret under the old name that the stack controls is carried over (same password) and pruned; one it does not control is left alone', async () => {
    const namespace = 'deputy-legacy';
    const created = await applyStack(admin, namespace, 'm', { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'alice' }] } });
    const owner = ownerReference(created);
    const labels = { [STACK_LABEL]: 'm' };
    const legacy = (name: string, user: string, password: string, ownerReferences: unknown[]) =>
      ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels, ownerReferences }, stringData: { username: user, password, password_sha256_hex: 'x' } }) as KubeObject;
    const alicePath = resourcePath(SECRETS, namespace, 'm-user-alice');
    const ownerPath = resourcePath(SECRETS, namespace, 'm-user-owner');
    await apply(admin, legacy('m-user-alice', 'alice', 'alice-old-password', [owner]), alicePath);
    // Controlled by something else (a ConfigMap here; the garbage collector would delete a Secret whose owner does not exist): never read.
    const holder = await apply(admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'holder', namespace } }, resourcePath(CONFIGMAPS, namespace, 'holder'));
    await apply(admin, legacy('m-user-owner', 'owner', 'someone-elses', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'holder', uid: holder.metadata.uid, controller: true }]), ownerPath);

    const second = await startOperator(operatorOptions([namespace], sqlClickHouseLeg(clickhouse.connect)));
    try {
      await waitForReady(admin, namespace, 'm');
      const alice = await decoded(resourcePath(SECRETS, namespace, stackNames('m').userSecret('alice')));
      expect(alice.username).toBe('alice');
      expect(alice.password).toBe('alice-old-password');
      expect((await decoded(resourcePath(SECRETS, namespace, stackNames('m').userSecret('owner')))).password).not.toBe('someone-elses');
      await eventually('the old-named Secret to be pruned', async () => !(await objectExists(admin, alicePath)));
      expect(await objectExists(admin, ownerPath)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
