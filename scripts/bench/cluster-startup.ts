/**
 * Startup time of the real-cluster test harness (harness/cluster.ts), cold process
 * start each time (binaries cached): bare (etcd + kube-apiserver) and full (plus
 * controller-manager, scheduler, kwok and one Ready fake node), then the time from creating
 * a 2-replica Deployment to both Pods Ready on the full cluster.
 *
 *   node scripts/bench/cluster-startup.ts [runs=3]
 */
import { AppsV1Api } from '@kubernetes/client-node';
import { eventually, startCluster } from '../../harness/cluster.ts';

const runs = Number(process.argv[2] ?? 3);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const bare: number[] = [];
const full: number[] = [];
const deploymentReady: number[] = [];
for (let run = 0; run < runs; run++) {
  const plain = await startCluster();
  bare.push(plain.startupMs);
  await plain.stop();

  const cluster = await startCluster({ controllers: true, kwok: true });
  full.push(cluster.startupMs);
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const started = Date.now();
  await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'bench' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'bench' } }, template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'example.invalid/c:1' }] } } },
    },
  });
  await eventually('2 ready replicas', async () => (await apps.readNamespacedDeployment({ namespace: 'default', name: 'bench' })).status?.readyReplicas === 2, 60_000, 50);
  deploymentReady.push(Date.now() - started);
  await cluster.stop();
}
console.log(`runs: ${runs}`);
console.log(`bare (etcd + kube-apiserver) startup ms:                 median ${median(bare)}  all ${bare.join(' ')}`);
console.log(`full (+ controller-manager, scheduler, kwok) startup ms: median ${median(full)}  all ${full.join(' ')}`);
console.log(`2-replica Deployment to Ready ms:                          median ${median(deploymentReady)}  all ${deploymentReady.join(' ')}`);
