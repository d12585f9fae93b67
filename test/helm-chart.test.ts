/**
 * dist/helm/telemetry-stack-operator rendered by the real `helm` (built from Go modules by
 * scripts/test-binaries/control-plane.ts): what Helm installs is what `synth --install` prints
 * (less the Namespace, which Helm leaves to --create-namespace), for the default values and for
 * a namespaced install, and `helm lint` passes. Missing helm is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILD_COMMAND, helmBinary } from '../scripts/test-binaries/control-plane.ts';
import { REPO_ROOT } from '../scripts/generate.ts';
import { crdManifest } from '../src/api/crd.ts';
import { HELM_CHART_NAME, withoutConfigHash } from '../src/charts/install/helm.ts';
import { defaultOperatorAffinity, OPERATOR_NAMESPACE, operatorInstallObjects, type InstallOptions } from '../src/charts/install/install-chart.ts';
import type { KubeObject } from '../src/charts/render.ts';

const CHART = join(REPO_ROOT, 'dist', 'helm', HELM_CHART_NAME);
const helm = helmBinary();

function helmRun(args: readonly string[]): string {
  if (!existsSync(helm)) throw new Error(`helm is not built (${helm}). Build it with: ${BUILD_COMMAND}`);
  // A private HOME: helm writes its config and cache there.
  return execFileSync(helm, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: join(REPO_ROOT, 'node_modules', '.cache', 'helm-home') } });
}

function template(namespace: string, set: readonly string[] = [], setJson: readonly string[] = []): KubeObject[] {
  const text = helmRun(['template', 'ops', CHART, '--namespace', namespace, '--include-crds', ...set.flatMap((value) => ['--set', value]), ...setJson.flatMap((value) => ['--set-json', value])]);
  return YAML.parseAllDocuments(text)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/** What `synth --install` gives for these options, as Helm would install it into `namespace`. */
function expected(namespace: string, options: InstallOptions = {}): KubeObject[] {
  return [crdManifest() as unknown as KubeObject, ...operatorInstallObjects({ ...options, namespace }).filter((object) => object.kind !== 'Namespace').map(withoutConfigHash)];
}

const key = (object: KubeObject) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
const byKey = (objects: readonly KubeObject[]) => Object.fromEntries(objects.map((object) => [key(object), object]));

describe('the Helm chart, rendered by helm', { timeout: 60_000 }, () => {
  it('with default values installs exactly what synth --install does (the telemetry namespace only)', () => {
    const rendered = template(OPERATOR_NAMESPACE);
    expect(byKey(rendered)).toEqual(byKey(expected(OPERATOR_NAMESPACE)));
    expect(rendered.some((object) => object.kind.startsWith('Cluster'))).toBe(false);
  });

  it('with watchNamespaces emptied: the cluster-wide install (synth --install --cluster-wide)', () => {
    const rendered = template(OPERATOR_NAMESPACE, ['watchNamespaces=null']);
    expect(byKey(rendered)).toEqual(byKey(expected(OPERATOR_NAMESPACE, { clusterWide: true })));
    expect(rendered.some((object) => object.kind === 'ClusterRole')).toBe(true);
  });

  it('with scheduling values set: the same pod spec as synth --install with those settings (issue 15 item 7)', () => {
    const scheduling = {
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' as const, effect: 'NoSchedule' as const }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In' as const, values: ['linux'] }] }] } } },
      priorityClassName: 'system-cluster-critical',
      imagePullSecrets: ['mirror-a', 'mirror-b'],
    };
    const rendered = template(OPERATOR_NAMESPACE, [], Object.entries(scheduling).map(([name, value]) => `${name}=${JSON.stringify(value)}`));
    expect(byKey(rendered)).toEqual(byKey(expected(OPERATOR_NAMESPACE, { scheduling })));
    const pod = (rendered.find((object) => object.kind === 'Deployment')!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod.imagePullSecrets).toEqual([{ name: 'mirror-a' }, { name: 'mirror-b' }]);
    // Helm merges the values' maps: the node affinity joins the default spread over nodes.
    expect(pod.affinity).toEqual({ ...defaultOperatorAffinity(), ...scheduling.affinity });
  });

  it('in another release namespace, with watchNamespaces, image and replicas set: the namespaced install there', () => {
    const rendered = template('platform', ['watchNamespaces={team-a,team-b}', 'image=registry.example.com/tstack:0.1.0', 'replicaCount=3']);
    expect(byKey(rendered)).toEqual(byKey(expected('platform', { watchNamespaces: ['team-a', 'team-b'], image: 'registry.example.com/tstack:0.1.0', replicas: 3 })));
    expect(rendered.some((object) => object.kind.startsWith('Cluster'))).toBe(false);
  });

  it('passes helm lint, and its CRD is the committed one', () => {
    expect(helmRun(['lint', CHART])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const crd = YAML.parse(readFileSync(join(CHART, 'crds', 'telemetrystack.yaml'), 'utf8'));
    expect(crd).toEqual(YAML.parse(readFileSync(join(REPO_ROOT, 'crds', 'telemetrystack.yaml'), 'utf8')));
  });
});
