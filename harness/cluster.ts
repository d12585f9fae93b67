/**
 * A real Kubernetes control plane for tests, started from the binaries that
 * scripts/test-binaries/control-plane.ts builds (no Docker here, so no kind): etcd and
 * kube-apiserver always; kube-controller-manager and kube-scheduler with `controllers`; kwok
 * with fake Nodes with `kwok`, so that scheduled Pods become Running and Ready without a
 * kubelet, and port-forwards to them reach what `podPortForwards` names. Everything listens on free loopback ports, lives in one temp dir, and is stopped
 * by stop() (and, as a backstop, when the test process exits).
 *
 *   const cluster = await startCluster({ controllers: true, kwok: true });
 *   const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
 *   ...
 *   await cluster.stop();
 *
 * Missing binaries are an error naming the script that builds them: a test that needs a
 * cluster fails, it never skips.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, PatchStrategy, StorageV1Api, type V1Node } from '@kubernetes/client-node';
import YAML from 'yaml';
import { freePorts } from './ports.ts';
import { BUILD_COMMAND, controlPlaneBinaries, missingBinaries } from '../scripts/test-binaries/control-plane.ts';

export interface ClusterOptions {
  /** Run kube-controller-manager (garbage collector, workload controllers, namespaces, volume binding) and kube-scheduler. */
  readonly controllers?: boolean;
  /** Run kwok with fake Nodes so scheduled Pods become Running/Ready, and a default StorageClass whose claims kwok binds (needs `controllers`). */
  readonly kwok?: boolean;
  /** How many fake Nodes kwok manages (default 1). */
  readonly nodes?: number;
  /**
   * Extra kube-apiserver flags, after the harness's own (a repeated flag overrides), e.g.
   * `--min-request-timeout=5` so that watches end within seconds (watch-restart tests).
   */
  readonly apiServerArgs?: readonly string[];
  /**
   * Port-forwards kwok answers as the kubelet would (needs `kwok`): a port-forward to any pod's
   * `port` reaches 127.0.0.1:`target` on this machine, e.g. a server the test runs.
   */
  readonly podPortForwards?: readonly { readonly port: number; readonly target: number }[];
  /** Milliseconds to wait for each component to become ready (default 90 s: the machines are shared). */
  readonly readyTimeoutMs?: number;
}

export interface TestCluster {
  /** A kubeconfig file for the admin user (CN=admin, O=system:masters), e.g. for `--kubeconfig`. */
  readonly kubeconfigPath: string;
  /** The same admin credentials, loaded. */
  readonly kubeConfig: KubeConfig;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Names of the fake Nodes (empty without kwok). */
  readonly nodeNames: readonly string[];
  /** Wall-clock milliseconds from startCluster() to ready. */
  readonly startupMs: number;
  /** Where each component writes its log (for debugging a failing test). */
  readonly logDir: string;
  /** Kills every process and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** A KubeConfig with the admin's credentials that acts as `system:serviceaccount:<namespace>:<name>` (RBAC applies as to that ServiceAccount). */
export function impersonateServiceAccount(admin: KubeConfig, namespace: string, name: string): KubeConfig {
  return impersonateUser(admin, `system:serviceaccount:${namespace}:${name}`);
}

/**
 * A KubeConfig that impersonates `username`. The API server adds the ServiceAccount groups
 * (system:serviceaccounts, system:serviceaccounts:<ns>) itself when the name is a ServiceAccount's.
 */
export function impersonateUser(admin: KubeConfig, username: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  if (!cluster || !user) throw new Error('impersonateUser: the admin KubeConfig has no current cluster or user');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ ...user, name: 'impersonated', impersonateUser: username }],
    contexts: [{ name: 'impersonated', cluster: cluster.name, user: 'impersonated' }],
    currentContext: 'impersonated',
  });
  return kubeConfig;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/**
 * A KubeConfig that authenticates as the ServiceAccount itself, with a short-lived token from
 * the TokenRequest API (what a pod's projected token is), rather than by impersonation.
 * The ServiceAccount must exist.
 */
export async function serviceAccountKubeConfig(admin: KubeConfig, namespace: string, name: string, expirationSeconds = 3600): Promise<KubeConfig> {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('serviceAccountKubeConfig: the admin KubeConfig has no current cluster');
  const response = await kubeRequest(admin, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds },
  });
  if (response.status !== 201) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} failed with HTTP ${response.status}: ${response.body}`);
  const token = (JSON.parse(response.body) as { status: { token: string } }).status.token;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: `${namespace}-${name}`, token }],
    contexts: [{ name: 'service-account', cluster: cluster.name, user: `${namespace}-${name}` }],
    currentContext: 'service-account',
  });
  return kubeConfig;
}

const live = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous backstop: a test file that forgets stop(), or a worker that exits early.
  process.on('exit', () => {
    for (const kill of live) kill();
  });
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const started = Date.now();
  const controllers = options.controllers ?? false;
  const kwok = options.kwok ?? false;
  if (kwok && !controllers) throw new Error('startCluster: kwok needs controllers (the scheduler assigns Pods to nodes)');
  const timeout = options.readyTimeoutMs ?? 90_000;

  const binaries = controlPlaneBinaries();
  const missing = missingBinaries(binaries);
  if (missing.length > 0) {
    throw new Error(`the real-cluster tests need binaries that are not built: ${missing.join(', ')}. Build them with: ${BUILD_COMMAND} (takes a while cold; cached afterwards)`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'tstack-cluster-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const processes: ChildProcess[] = [];
  let stopped = false;
  const killAll = (signal: NodeJS.Signals) => {
    // Reverse start order: clients before the API server before etcd.
    for (const child of [...processes].reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  };
  const backstop = () => {
    killAll('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  installExitHook();
  live.add(backstop);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killAll('SIGTERM');
    const exited = Promise.all(processes.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
    const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) killAll('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    live.delete(backstop);
  };

  const run = (name: string, command: string, args: string[]): ChildProcess => {
    const log = createWriteStream(join(logDir, `${name}.log`));
    // setpriv (util-linux) makes the kernel kill the component when the test process dies,
    // even by SIGKILL, when no exit handler runs; without setpriv the exit handler is all.
    const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
    const child = spawn(file, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', (code, signal) => {
      if (!stopped) log.write(`\n[harness] ${name} exited unexpectedly (code ${code}, signal ${signal})\n`);
    });
    processes.push(child);
    return child;
  };
  /** Resolves when `ready` does; rejects with the component's log tail if it exits or times out first. */
  const waitFor = async (name: string, child: ChildProcess, ready: () => Promise<boolean>) => {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during startup (code ${child.exitCode}):\n${logTail(logDir, name)}`);
      if (await ready().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${name} was not ready within ${timeout} ms:\n${logTail(logDir, name)}`);
  };

  try {
    const pki = writePki(join(dir, 'pki'));
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);

    const etcd = run('etcd', binaries.etcd, [
      '--name=tstack',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=tstack=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitFor('etcd', etcd, async () => (await fetch(`http://127.0.0.1:${etcdClientPort}/health`)).ok);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = run('kube-apiserver', binaries.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      // Stricter than the default, as some distributions run it: setting blockOwnerDeletion
      // needs update on the owner's finalizers, so the operator's ClusterRole is tested for it.
      '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
      // TaintNodesByCondition taints new Nodes not-ready until the node-lifecycle controller,
      // which is not run here (kwok is the only kubelet), lifts it. Without the controller-manager
      // nobody creates the `default` ServiceAccount the ServiceAccount plugin insists on (as in envtest).
      `--disable-admission-plugins=${['TaintNodesByCondition', ...(controllers ? [] : ['ServiceAccount'])].join(',')}`,
      ...(options.apiServerArgs ?? []),
    ]);
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    await waitFor('kube-apiserver', apiserver, async () => (await rawGet(kubeConfig, '/readyz')).status === 200);

    const nodeNames: string[] = [];
    if (controllers) {
      const controllerManager = run('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${kubeconfigPath}`,
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--use-service-account-credentials=false',
        '--secure-port=0',
        '--leader-elect=false',
        `--controllers=${CONTROLLERS.join(',')}`,
      ]);
      const scheduler = run('kube-scheduler', binaries.kubeScheduler, [`--kubeconfig=${kubeconfigPath}`, '--secure-port=0', '--leader-elect=false']);
      const core = kubeConfig.makeApiClient(CoreV1Api);
      // The serviceaccount controller creating `default` shows the controller-manager is working.
      await waitFor('kube-controller-manager', controllerManager, async () => Boolean(await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' })));
      // The scheduler has no readiness endpoint without a secure port; its log says when its informers synced.
      await waitFor('kube-scheduler', scheduler, async () => /successfully acquired lease|Starting Kubernetes Scheduler/i.test(readLog(logDir, 'kube-scheduler')));
    }

    if (kwok) {
      // kwok also serves the kubelet API (port-forward) on the node's port, which node-initialize
      // publishes in status.daemonEndpoints; the API server does not verify a kubelet's certificate
      // without --kubelet-certificate-authority, so the API server's own serves here.
      const [kubeletPort] = await freePorts(1);
      const kwokConfig = join(dir, 'kwok.yaml');
      writeFileSync(kwokConfig, kwokConfiguration(options.podPortForwards ?? []));
      const kwokProcess = run('kwok', binaries.kwok, [
        `--kubeconfig=${kubeconfigPath}`,
        `--config=${kwokConfig}`,
        `--node-port=${kubeletPort}`,
        `--server-address=127.0.0.1:${kubeletPort}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--cidr=10.244.0.0/16',
        '--node-ip=127.0.0.1',
        // Keep a node Lease, as a kubelet does (the node-heartbeat-with-lease stage refreshes status rarely).
        '--node-lease-duration-seconds=40',
      ]);
      const core = kubeConfig.makeApiClient(CoreV1Api);
      for (const storageClass of [KWOK_STORAGE_CLASS, KWOK_FIXED_STORAGE_CLASS]) await kubeConfig.makeApiClient(StorageV1Api).createStorageClass({ body: storageClass });
      for (let index = 0; index < (options.nodes ?? 1); index++) {
        const node = await core.createNode({ body: fakeNode(`kwok-node-${index}`) });
        nodeNames.push(node.metadata!.name!);
      }
      await waitFor('kwok', kwokProcess, async () => {
        const nodes = await core.listNode();
        // Its kubelet server too: a port-forward before it listens fails.
        return nodeNames.every((name) => nodes.items.some((node) => node.metadata?.name === name && isReady(node))) && (await accepts(kubeletPort!));
      });
    }

    return { kubeconfigPath, kubeConfig, server, nodeNames, startupMs: Date.now() - started, logDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Controllers a stack's objects need: owner-reference garbage collection, the workloads, the
 * namespace and ServiceAccount lifecycle, Service endpoints, and PersistentVolume binding.
 * Not `*`: every other controller costs CPU on a shared two-core machine.
 */
const CONTROLLERS = [
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'endpointslice-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'job-controller',
];

/** The stages, and a ClusterPortForward (every pod) when the test asks for forwards. */
function kwokConfiguration(forwards: readonly { port: number; target: number }[]): string {
  const stages = readFileSync(KWOK_STAGES_FILE, 'utf8');
  if (forwards.length === 0) return stages;
  const portForward = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterPortForward',
    metadata: { name: 'test-targets' },
    spec: { forwards: forwards.map(({ port, target }) => ({ ports: [port], target: { address: '127.0.0.1', port: target } })) },
  };
  return `${stages}\n---\n${YAML.stringify(portForward)}`;
}

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** kwok's stages: node and pod lifecycle, and volume provisioning for the class below. */
const KWOK_STAGES_FILE = join(import.meta.dirname, 'kwok', 'stages.yaml');

/**
 * The StorageClasses kwok's pvc-provision stage binds claims of: the default one allows volume
 * expansion (as cloud defaults do), the other does not (as kind's local-path "standard" does).
 */
export const KWOK_STORAGE_CLASS = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'kwok-volume', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'kwok.x-k8s.io/volume',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
  allowVolumeExpansion: true,
};
export const KWOK_FIXED_STORAGE_CLASS = {
  ...KWOK_STORAGE_CLASS,
  metadata: { name: 'kwok-fixed-volume' },
  allowVolumeExpansion: false,
};

function fakeNode(name: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    // Room for benchmarks of a hundred stacks on one node (requests are real, containers are not).
    status: {
      allocatable: { cpu: '1000', memory: '4Ti', pods: '2000', 'ephemeral-storage': '100Ti' },
      capacity: { cpu: '1000', memory: '4Ti', pods: '2000', 'ephemeral-storage': '100Ti' },
    },
  };
}

function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

// ------------------------------------------------------------------------- PKI and kubeconfig

interface Pki {
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (the harness needs the openssl CLI: apt-get install openssl): ${stderr || String(error)}`);
  }
}

/** A throwaway CA, the API server's serving certificate, an admin client certificate and the ServiceAccount token key; EC P-256 because it is fast to generate. */
function writePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const key = (file: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], dir);
  const days = ['-days', '7'];
  key('ca.key');
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=telemetry-stack-test-ca', ...days, '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', ...days, '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  };
  issue(
    'serving',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n',
  );
  issue('admin', '/O=system:masters/CN=admin', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  key('service-account.key');
  openssl(['pkey', '-in', 'service-account.key', '-pubout', '-out', 'service-account.pub'], dir);
  const at = (file: string) => join(dir, file);
  return {
    caCert: at('ca.crt'),
    servingCert: at('serving.crt'),
    servingKey: at('serving.key'),
    adminCert: at('admin.crt'),
    adminKey: at('admin.key'),
    serviceAccountKey: at('service-account.key'),
    serviceAccountPublicKey: at('service-account.pub'),
  };
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const base64 = (file: string) => readFileSync(file).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tstack-test', cluster: { server, 'certificate-authority-data': base64(pki.caCert) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': base64(pki.adminCert), 'client-key-data': base64(pki.adminKey) } }],
    contexts: [{ name: 'tstack-test', context: { cluster: 'tstack-test', user: 'admin' } }],
    'current-context': 'tstack-test',
  });
}

// ------------------------------------------------------------------------- small helpers

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * One raw API request with the KubeConfig's credentials (impersonation included), for paths
 * and patch types the generated clients make awkward. Resolves with any HTTP status.
 */
export async function kubeRequest(kubeConfig: KubeConfig, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeRequest: no current cluster');
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const options: RequestOptions = { method, timeout: 10_000, headers: payload === undefined ? {} : { 'content-type': contentType } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(new URL(path, cluster.server), options, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** GET a raw API path (e.g. /readyz, /version). */
export function rawGet(kubeConfig: KubeConfig, path: string): Promise<KubeResponse> {
  return kubeRequest(kubeConfig, 'GET', path);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readLog(logDir: string, name: string): string {
  try {
    return readFileSync(join(logDir, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
}

function logTail(logDir: string, name: string, lines = 30): string {
  return readLog(logDir, name).split('\n').slice(-lines).join('\n');
}

/** Thrown from an `eventually` check: waiting longer cannot help, so fail now. */
export class GiveUp extends Error {}

/**
 * Polls `check` until it returns a value other than undefined/false; fails with `what` and the
 * last error after `timeoutMs`, or at once when the check throws GiveUp.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${error.message}`);
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''}`);
}

/** Server-side applies each object in order (force: the test owns the fields); returns what the API server stored. */
export async function applyObjects(kubeConfig: KubeConfig, objects: readonly KubernetesObject[], fieldManager = 'telemetry-stack-test'): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const applied: KubernetesObject[] = [];
  for (const object of objects) applied.push(await client.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  return applied;
}

/** Waits until the API server serves a CustomResourceDefinition (condition Established). */
export async function crdEstablished(kubeConfig: KubeConfig, name: string, timeoutMs = 30_000): Promise<void> {
  await eventually(`CRD ${name} to be Established`, async () => {
    const response = await rawGet(kubeConfig, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const crd = JSON.parse(response.body) as { status?: { conditions?: { type: string; status: string }[] } };
    return crd.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True');
  }, timeoutMs);
}
