/**
 * Scheduling and pull settings (issue 15 item 7): each component's nodeSelector, tolerations,
 * affinity, priorityClassName and imagePullSecrets reach its pod spec, valid for Kubernetes; a
 * stack without them renders no such field; a mistake is refused at its field path; and a pull
 * Secret, like every Secret a stack names, must be labelled referenceable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REFERENCEABLE_LABEL } from '../src/api/constants.ts';
import { validateStack } from '../src/api/validate.ts';
import { render } from '../src/charts/render.ts';
import { refusedReference, secretReferences } from '../src/operator/credentials.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';
import { expectRefusedAt } from './support/refusals.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';

const scheduling = (zone: string) => ({
  nodeSelector: { 'kubernetes.io/arch': 'amd64', disktype: 'ssd' },
  tolerations: [{ key: 'dedicated', operator: 'Equal' as const, value: 'telemetry', effect: 'NoSchedule' as const }, { operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: 60 }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: [zone] }] }] },
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'telemetry-stack' } } } }],
    },
  },
  priorityClassName: 'telemetry-high',
  imagePullSecrets: ['registry-mirror'],
});

const WORKLOADS = { collector: 'StatefulSet', clickhouse: 'StatefulSet', grafana: 'Deployment' } as const;
type Component = keyof typeof WORKLOADS;

function podSpec(objects: ReturnType<typeof render>['objects'], component: Component): Record<string, unknown> {
  const workload = objects.find((o) => o.kind === WORKLOADS[component] && o.metadata.labels?.['app.kubernetes.io/component'] === component);
  expect(workload, `${component} workload`).toBeDefined();
  return (workload!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
}

describe('scheduling and pull settings', () => {
  it('reach each component\'s pod spec and validate against the Kubernetes schema', async () => {
    const stack = stackFrom({
      collector: scheduling('zone-a'),
      clickhouse: scheduling('zone-b'),
      grafana: { enabled: true, ...scheduling('zone-c') },
    });
    const { objects } = render(stack);
    for (const [component, zone] of [['collector', 'zone-a'], ['clickhouse', 'zone-b'], ['grafana', 'zone-c']] as const) {
      const spec = podSpec(objects, component);
      const wanted = scheduling(zone);
      expect(spec.nodeSelector, component).toEqual(wanted.nodeSelector);
      expect(spec.tolerations, component).toEqual(wanted.tolerations);
      expect(spec.affinity, component).toEqual(wanted.affinity);
      expect(spec.priorityClassName, component).toBe('telemetry-high');
      expect(spec.imagePullSecrets, component).toEqual([{ name: 'registry-mirror' }]);
    }
    for (const object of objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')) {
      expect(await kubeSchemaErrors(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
    }
  });

  it('a stack without them renders no scheduling field (the scheduler decides, as before)', () => {
    const { objects } = render(stackFrom({ grafana: { enabled: true } }));
    for (const component of Object.keys(WORKLOADS) as Component[]) {
      const spec = podSpec(objects, component);
      for (const field of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName', 'imagePullSecrets']) expect(spec, `${component}.${field}`).not.toHaveProperty(field);
    }
  });

  const invalid: [string, unknown, string, RegExp][] = [
    ['a node selector key with a space', { collector: { nodeSelector: { 'disk type': 'ssd' } } }, 'spec.collector.nodeSelector.disk type', /not a label key/],
    ['a node selector value too long', { clickhouse: { nodeSelector: { disktype: 'x'.repeat(64) } } }, 'spec.clickhouse.nodeSelector.disktype', /63/],
    ['an unknown taint effect', { collector: { tolerations: [{ key: 'a', effect: 'NoRun' }] } }, 'spec.collector.tolerations[0].effect', /NoSchedule/],
    ['a misspelled toleration field', { collector: { tolerations: [{ keys: 'a' }] } }, 'spec.collector.tolerations[0]', /unknown field "keys"/],
    ['a weight of 0', { grafana: { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } }] } } } }, 'spec.grafana.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight', /at least 1/],
    ['an affinity term without its topology key', { clickhouse: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { a: 'b' } } }] } } } }, 'spec.clickhouse.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey', /./],
    ['a misspelled affinity kind', { collector: { affinity: { nodeAfinity: {} } } }, 'spec.collector.affinity', /unknown field "nodeAfinity"/],
    ['a pull secret that is not a Secret name', { collector: { imagePullSecrets: ['Registry Creds'] } }, 'spec.collector.imagePullSecrets[0]', /Secret name/],
    ['a priority class that is not a name', { grafana: { priorityClassName: 'High_Priority' } }, 'spec.grafana.priorityClassName', /PriorityClass name/],
  ];

  it.each(invalid)('refuses %s at its field path', (_label, spec, path, message) => {
    expectRefusedAt(spec, path, message);
  });

  it('a pull Secret must be labelled referenceable, like every Secret a stack names', () => {
    const stack = stackFrom({ collector: { imagePullSecrets: ['mirror'] }, clickhouse: { imagePullSecrets: ['mirror', 'other'] }, grafana: { imagePullSecrets: ['unused'] } });
    const pulls = secretReferences(stack).filter((reference) => reference.keys.includes('.dockerconfigjson'));
    // Grafana is off: its pull Secret is never handed to a pod, so it is not checked.
    expect(pulls.map((reference) => `${reference.field}=${reference.name}`)).toEqual([
      'spec.collector.imagePullSecrets[0]=mirror',
      'spec.clickhouse.imagePullSecrets[0]=mirror',
      'spec.clickhouse.imagePullSecrets[1]=other',
    ]);
    const secret = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mirror', labels }, data: { '.dockerconfigjson': 'e30=' } });
    expect(refusedReference(pulls[0]!, 'team', secret({}))).toMatch(new RegExp(`^spec\\.collector\\.imagePullSecrets\\[0\\]: Secret "mirror" is not labelled ${REFERENCEABLE_LABEL.replace('.', '\\.')}=true.*kubectl label secret mirror -n team`));
    expect(refusedReference(pulls[0]!, 'team', secret({ [REFERENCEABLE_LABEL]: 'true' }))).toBeUndefined();
    expect(refusedReference(pulls[0]!, 'team', undefined)).toMatch(/does not exist in namespace "team"/);
  });

  it('the example in docs/OPERATIONS.md is a valid stack', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Where the stack\'s pods run'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const result = validateStack((parse(example!) as { spec: unknown }).spec);
    expect(result.ok, JSON.stringify(!result.ok && result.problems)).toBe(true);
    expect(result.ok && result.stack.spec.clickhouse.imagePullSecrets).toEqual(['corp-registry']);
  });
});
