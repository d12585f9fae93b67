/**
 * The operator's install manifests (src/charts/install, dist/install.yaml) and its
 * Dockerfile, checked statically. Applying them to a real API server and exercising the
 * ClusterRole is test/cluster-install.test.ts; the image cannot be built here (no Docker
 * engine), so the Dockerfile is checked for what can be read from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { CRD_NAME } from '../src/api/constants.ts';
import {
  DEFAULT_WATCH_NAMESPACE,
  installManifests,
  OPERATOR_IMAGE,
  OPERATOR_METRICS_PORT,
  OPERATOR_NAME,
  OPERATOR_NAMESPACE,
  OPERATOR_UID,
  OPERATOR_VERSION,
  operatorInstallObjects,
} from '../src/charts/install/install-chart.ts';
import { OPERATOR_STACK_RULES, OPERATOR_NAMESPACE_RULES } from '../src/charts/install/rbac.ts';
import { OPERATOR_POD_LABELS } from '../src/charts/network-policies.ts';
import type { KubeObject } from '../src/charts/render.ts';
import { GENERATED_NOTICE, REPO_ROOT } from '../scripts/generate.ts';
import { run } from '../src/cli/main.ts';
import { render } from '../src/charts/render.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';
import { exampleFiles, loadExample, stackFrom } from '../harness/stacks.ts';

/** The cluster-wide install (dist/install-cluster-wide.yaml); the default, namespaced one is below. */
const objects = operatorInstallObjects({ clusterWide: true });
const find = (kind: string) => {
  const found = objects.filter((object) => object.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as KubeObject & Record<string, any>;
};

describe('install chart', () => {
  it('renders exactly the operator objects, each valid against the Kubernetes schema', async () => {
    expect(objects.map((object) => object.kind)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service']);
    for (const object of objects) {
      expect(await kubeSchemaErrors(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind)) expect(object.metadata.namespace).toBe(OPERATOR_NAMESPACE);
    }
  });

  it('runs two replicas of the operator under the restricted profile, with the label the ClickHouse NetworkPolicy admits', () => {
    const deployment = find('Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).toMatchObject(OPERATOR_POD_LABELS);
    expect(deployment.spec.selector.matchLabels).toMatchObject(OPERATOR_POD_LABELS);
    expect(pod.spec.serviceAccountName).toBe(OPERATOR_NAME);
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: OPERATOR_UID, seccompProfile: { type: 'RuntimeDefault' } });
    const [container] = pod.spec.containers;
    expect(pod.spec.containers).toHaveLength(1);
    expect(container.image).toBe(OPERATOR_IMAGE);
    expect(container.args).toEqual(['operator', '--leader-elect', `--metrics-port=${OPERATOR_METRICS_PORT}`]);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: OPERATOR_METRICS_PORT, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(container.env).toEqual([{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }]);
    // Same selector on the metrics Service.
    const service = find('Service');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0]).toMatchObject({ port: OPERATOR_METRICS_PORT, targetPort: 'metrics' });
  });

  it('binds the ServiceAccount to a ClusterRole with no wildcards, no cluster-scoped writes, and leases only in its namespace', () => {
    const subjects = [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE }];
    expect(find('ClusterRoleBinding')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: OPERATOR_NAME }, subjects });
    expect(find('RoleBinding')).toMatchObject({ roleRef: { kind: 'Role', name: OPERATOR_NAME }, subjects });
    expect(find('ClusterRole').rules).toEqual(OPERATOR_STACK_RULES);
    expect(find('Role').rules).toEqual(OPERATOR_NAMESPACE_RULES);
    for (const rule of [...OPERATOR_STACK_RULES, ...OPERATOR_NAMESPACE_RULES]) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field).not.toContain('*');
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate']));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['bind']));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['impersonate']));
      expect(rule.resources).not.toEqual(expect.arrayContaining(['clusterroles']));
      expect(rule.resources).not.toEqual(expect.arrayContaining(['clusterrolebindings']));
      expect(rule.resources).not.toEqual(expect.arrayContaining(['nodes']));
      expect(rule.resources).not.toEqual(expect.arrayContaining(['customresourcedefinitions']));
    }
    expect(OPERATOR_STACK_RULES.flatMap((rule) => rule.resources)).not.toContain('leases');
  });

  it('lets the operator apply, list, watch and prune every kind the stack chart renders', () => {
    const specs = [
      {},
      { collector: { persistentQueue: { enabled: false } } },
      ...exampleFiles().map((file) => (loadExample(file) as { spec: unknown }).spec),
    ];
    const kinds = new Set<string>();
    for (const spec of specs) {
      const stack = stackFrom(spec);
      for (const object of [...render(stack).objects, ...generateSecrets(stack)]) kinds.add(`${object.apiVersion} ${object.kind}`);
    }
    // Both collector workloads are among them (StatefulSet with the queue, Deployment without).
    expect([...kinds]).toEqual(expect.arrayContaining(['apps/v1 Deployment', 'apps/v1 StatefulSet', 'v1 Secret']));
    const resource = (kind: string) => (kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`).toLowerCase();
    for (const entry of kinds) {
      const [apiVersion, kind] = entry.split(' ') as [string, string];
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
      const verbs = OPERATOR_STACK_RULES.filter((rule) => rule.apiGroups?.includes(group) && rule.resources?.includes(resource(kind))).flatMap((rule) => rule.verbs);
      expect(verbs, entry).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'patch', 'delete']));
    }
  });

  it('tags the image with the package version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(OPERATOR_VERSION).toBe(pkg.version);
    expect(OPERATOR_IMAGE.endsWith(`:${pkg.version}`)).toBe(true);
  });
});

describe.each([
  ['install.yaml', {}],
  ['install-cluster-wide.yaml', { clusterWide: true }],
] as const)('dist/%s', (file, options) => {
  const text = readFileSync(join(REPO_ROOT, 'dist', file), 'utf8');

  it('is the CRD followed by the install chart, under the generated header', () => {
    expect(text.startsWith(`# ${GENERATED_NOTICE}\n`)).toBe(true);
    const documents = YAML.parseAllDocuments(text).map((document) => document.toJS() as KubeObject);
    expect(documents).toEqual(installManifests(options));
    expect(documents[0]).toMatchObject({ kind: 'CustomResourceDefinition', metadata: { name: CRD_NAME } });
    expect(documents[1]?.kind).toBe('Namespace');
  });
});

describe('the default install (dist/install.yaml): no rights outside the telemetry namespace', () => {
  it('has no ClusterRole; the stack rules are a Role in telemetry, and the operator watches only it', () => {
    const defaults = operatorInstallObjects();
    expect(defaults.filter((object) => object.kind.startsWith('Cluster'))).toEqual([]);
    const role = defaults.find((object) => object.kind === 'Role' && object.metadata.namespace === DEFAULT_WATCH_NAMESPACE) as KubeObject & Record<string, any>;
    expect(role.rules).toEqual(OPERATOR_STACK_RULES);
    const deployment = defaults.find((object) => object.kind === 'Deployment') as KubeObject & Record<string, any>;
    expect(deployment.spec.template.spec.containers[0].args).toContain(`--namespace=${DEFAULT_WATCH_NAMESPACE}`);
    expect(() => operatorInstallObjects({ clusterWide: true, watchNamespaces: ['a'] })).toThrow('either cluster-wide or watches namespaces');
  });
});

describe('a namespaced install (synth --install --watch-namespace)', () => {
  const watched = ['team-a', 'team-b'];
  const scoped = operatorInstallObjects({ watchNamespaces: watched });

  it('has no ClusterRole: a Role with the stack rules and its binding in each watched namespace', () => {
    expect(scoped.map((object) => object.kind).filter((kind) => kind.startsWith('Cluster'))).toEqual([]);
    for (const namespace of watched) {
      const role = scoped.find((object) => object.kind === 'Role' && object.metadata.namespace === namespace) as KubeObject & Record<string, any>;
      expect(role.rules).toEqual(OPERATOR_STACK_RULES);
      const binding = scoped.find((object) => object.kind === 'RoleBinding' && object.metadata.namespace === namespace) as KubeObject & Record<string, any>;
      expect(binding).toMatchObject({ roleRef: { kind: 'Role', name: role.metadata.name }, subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE }] });
    }
    // The Lease Role in the operator's own namespace stays as it is.
    const lease = scoped.find((object) => object.kind === 'Role' && object.metadata.namespace === OPERATOR_NAMESPACE) as KubeObject & Record<string, any>;
    expect(lease.rules).toEqual(OPERATOR_NAMESPACE_RULES);
  });

  it('tells the operator which namespaces to watch', () => {
    const deployment = scoped.find((object) => object.kind === 'Deployment') as KubeObject & Record<string, any>;
    expect(deployment.spec.template.spec.containers[0].args).toContain('--namespace=team-a,team-b');
    const clusterWide = find('Deployment');
    expect(clusterWide.spec.template.spec.containers[0].args.some((arg: string) => arg.startsWith('--namespace'))).toBe(false);
  });

  it('is what `synth --install` prints; without namespaces that is dist/install.yaml, with --cluster-wide dist/install-cluster-wide.yaml', async () => {
    const printed = await run(['synth', '--install', '--watch-namespace', 'team-a', '--watch-namespace', 'team-b']);
    expect(printed.code).toBe(0);
    expect(YAML.parseAllDocuments(printed.stdout).map((document) => document.toJS())).toEqual(installManifests({ watchNamespaces: watched }));
    const committed = (file: string) => YAML.parseAllDocuments(readFileSync(join(REPO_ROOT, 'dist', file), 'utf8')).map((document) => document.toJS());
    const defaults = await run(['synth', '--install']);
    expect(YAML.parseAllDocuments(defaults.stdout).map((document) => document.toJS())).toEqual(committed('install.yaml'));
    const everything = await run(['synth', '--install', '--cluster-wide']);
    expect(YAML.parseAllDocuments(everything.stdout).map((document) => document.toJS())).toEqual(committed('install-cluster-wide.yaml'));
  });

  it('refuses what does not belong: stack flags, a bad or repeated namespace, --watch-namespace alone', async () => {
    expect((await run(['synth', '--install', '-f', 'examples/local.yaml'])).stderr).toContain('synth --install prints the operator, not a stack: drop --file');
    expect((await run(['synth', '--install', '--watch-namespace', 'Team_A'])).stderr).toContain('--watch-namespace: "Team_A" is not a namespace name');
    expect((await run(['synth', '--install', '--watch-namespace', 'a', '--watch-namespace', 'a'])).stderr).toContain('listed twice');
    const alone = await run(['synth', '--watch-namespace', 'a']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--watch-namespace goes with --install');
    const both = await run(['synth', '--install', '--cluster-wide', '--watch-namespace', 'a']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--cluster-wide and --watch-namespace exclude each other');
  });
});

describe('Dockerfile (static: no Docker engine on these machines)', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const froms = instructions.filter((line) => /^FROM\s/i.test(line));
  const finalStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!));

  it('is multi-stage on Node 24 base images pinned by exact version tag', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.split(/\s+/)[1]!;
      expect(image, from).toMatch(/^node:24\.\d+\.\d+-[a-z0-9.-]+(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('runs as the numeric non-root user the chart declares', () => {
    const users = finalStage.filter((line) => /^USER\s/i.test(line));
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.split(/\s+/)[1]!;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBe(OPERATOR_UID);
  });

  it('starts `telemetry-stack operator` and installs production dependencies only', () => {
    const entrypoint = finalStage.find((line) => /^ENTRYPOINT\s/i.test(line));
    const cmd = finalStage.find((line) => /^CMD\s/i.test(line));
    expect(entrypoint).toBeDefined();
    const argv = [...JSON.parse(entrypoint!.replace(/^ENTRYPOINT\s+/i, '')), ...(cmd ? JSON.parse(cmd.replace(/^CMD\s+/i, '')) : [])] as string[];
    expect(argv[0]).toBe('node');
    expect(argv.slice(-1)).toEqual(['operator']);
    expect(argv.some((arg) => arg.endsWith('cli/main.js'))).toBe(true);
    expect(dockerfile).toMatch(/npm install[^\n]*--omit=dev/);
  });

  it('keeps the build context small (.dockerignore excludes node_modules and the checkout metadata)', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', '.git', 'build']) expect(ignored).toContain(entry);
  });
});
