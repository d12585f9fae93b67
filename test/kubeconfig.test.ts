/**
 * The one kubeconfig loader of the operator and the CLI (src/kube/kubeconfig.ts): controller-runtime's
 * order, kubectl's merging of a $KUBECONFIG list, never client-node's localhost:8080 fallback.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../src/cli/main.ts';
import { KubeConfigError, loadKubeConfig } from '../src/kube/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'tstack-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig file with one cluster/user/context per name, each cluster at a server URL that names its file. */
function kubeconfig(file: string, contexts: string[], current?: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: contexts.map((name) => ({ name, cluster: { server: `https://${file.replace(/\W/g, '-')}.${name}.example:6443` } })),
      users: contexts.map((name) => ({ name, user: { token: `token-${file}-${name}` } })),
      contexts: contexts.map((name) => ({ name, context: { cluster: name, user: name } })),
      ...(current ? { 'current-context': current } : {}),
    }),
  );
  return path;
}

/** A service account directory as a pod has it. */
function serviceAccount(): string {
  const account = join(dir, 'sa');
  mkdirSync(account, { recursive: true });
  writeFileSync(join(account, 'token'), 'sa-token');
  writeFileSync(join(account, 'namespace'), 'telemetry-stack-system');
  return account;
}

const server = (loaded: ReturnType<typeof loadKubeConfig>) => loaded.config.getCurrentCluster()?.server;

describe('the kubeconfig loader (controller-runtime\'s order)', () => {
  const flag = kubeconfig('flag.yaml', ['f'], 'f');
  const listed = kubeconfig('listed.yaml', ['l'], 'l');
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'h', cluster: { server: 'https://home.example:6443' } }], users: [{ name: 'h', user: {} }], contexts: [{ name: 'h', context: { cluster: 'h', user: 'h' } }], 'current-context': 'h' }));
  const inPod = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const account = serviceAccount();

  it('--kubeconfig first, then $KUBECONFIG, then the pod\'s service account, then ~/.kube/config', () => {
    const env = { ...inPod, KUBECONFIG: listed };
    expect(server(loadKubeConfig({ kubeconfig: flag, env, serviceAccountDir: account, home }))).toBe('https://flag-yaml.f.example:6443');
    expect(server(loadKubeConfig({ env, serviceAccountDir: account, home }))).toBe('https://listed-yaml.l.example:6443');
    const pod = loadKubeConfig({ env: inPod, serviceAccountDir: account, home });
    expect(pod.inCluster).toBe(true);
    expect(server(pod)).toBe('https://10.0.0.1:443');
    expect(server(loadKubeConfig({ env: {}, serviceAccountDir: account, home }))).toBe('https://home.example:6443');
    // In a pod without a token, the service account is not used.
    expect(server(loadKubeConfig({ env: inPod, serviceAccountDir: join(dir, 'no-sa'), home }))).toBe('https://home.example:6443');
  });

  it('merges a $KUBECONFIG list as kubectl does: the first file to name a context keeps it, the first current-context wins, missing files are skipped', () => {
    const a = kubeconfig('a.yaml', ['shared', 'only-a'], 'only-a');
    const b = kubeconfig('b.yaml', ['shared', 'only-b'], 'only-b');
    const loaded = loadKubeConfig({ env: { KUBECONFIG: [join(dir, 'missing.yaml'), a, b].join(delimiter) }, home: dir });
    expect(loaded.config.getContexts().map((context) => context.name).sort()).toEqual(['only-a', 'only-b', 'shared']);
    expect(loaded.config.getCurrentContext()).toBe('only-a');
    expect(loaded.config.getCluster('shared')?.server).toBe('https://a-yaml.shared.example:6443');
    expect(loaded.config.getUser('shared')?.token).toBe('token-a.yaml-shared');
    expect(server(loadKubeConfig({ env: { KUBECONFIG: [a, b].join(delimiter) }, context: 'only-b', home: dir }))).toBe('https://b-yaml.only-b.example:6443');
  });

  it('says what was tried and what to do, and never falls back to localhost:8080', () => {
    const error = (options: Parameters<typeof loadKubeConfig>[0]) => {
      try {
        loadKubeConfig(options);
      } catch (caught) {
        expect(caught).toBeInstanceOf(KubeConfigError);
        return caught as KubeConfigError;
      }
      throw new Error('no error');
    };
    expect(error({ env: {}, home: dir, serviceAccountDir: join(dir, 'no-sa') })).toMatchObject({ problem: 'none', message: expect.stringContaining('no Kubernetes configuration found') });
    expect(error({ env: { KUBECONFIG: join(dir, 'nope.yaml') }, home: dir })).toMatchObject({ problem: 'none', message: expect.stringContaining('names no existing file') });
    writeFileSync(join(dir, 'broken.yaml'), 'clusters: [');
    expect(error({ kubeconfig: join(dir, 'broken.yaml'), env: {} })).toMatchObject({ problem: 'unreadable' });
    expect(error({ kubeconfig: flag, context: 'nope', env: {} })).toMatchObject({ problem: 'no-context', message: expect.stringContaining('known contexts: f') });
    expect(error({ kubeconfig: kubeconfig('nocurrent.yaml', ['x']), env: {} })).toMatchObject({ problem: 'no-current-context' });
  });

  it('the CLI and the operator read the same order: a $KUBECONFIG list reaches both', async () => {
    const a = kubeconfig('cli-a.yaml', ['ctx-a'], 'ctx-a');
    const b = kubeconfig('cli-b.yaml', ['ctx-b']);
    // `status --context ctx-b` can only find ctx-b in the second file of the list; the server is not reachable, which is the point of the message.
    const status = await run(['status', '--context', 'ctx-b'], { env: { KUBECONFIG: [a, b].join(delimiter), HOME: dir } });
    expect(status.stderr).toContain('https://cli-b-yaml.ctx-b.example:6443');
    const none = await run(['status'], { env: { HOME: dir } });
    expect(none.stderr).toContain('no Kubernetes cluster configured');
    expect(none.stderr).toContain('telemetry-stack up');
  });
});
