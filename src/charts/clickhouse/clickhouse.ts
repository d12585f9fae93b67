/**
 * The in-cluster ClickHouse server (clickhouse.mode: inCluster): a single-replica
 * StatefulSet with its data on a PersistentVolumeClaim that outlives the stack, a
 * ConfigMap with the config.d/users.d files, a headless Service for the StatefulSet and
 * a ClusterIP Service for clients. The caller decides whether to render it.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { TelemetryStack } from '../../api/resource.ts';
import { contentHash } from '../../stack/hash.ts';
import { componentLabels, imageTag, selectorLabels } from '../../stack/labels.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';
import { containerResources } from '../resources.ts';
import { SECRET_KEYS } from '../../stack/secrets.ts';
import { restrictedPodTemplate } from '../security.ts';
import { CLICKHOUSE_ENV, CLICKHOUSE_PATHS, CONFIG_MAP_KEYS, serverConfigXml, usersConfigXml } from './config.ts';

/** uid and gid of the `clickhouse` user in the official image. */
export const CLICKHOUSE_UID = 101;
/** Only the SHA-256 of a generated password reaches this pod, never the plaintext. */
function hashFromSecret(name: string, secret: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key: SECRET_KEYS.passwordSha256, optional: false } } };
}

export class ClickHouseServer extends Construct {
  readonly serverXml: string;
  readonly usersXml: string;
  readonly configHash: string;

  constructor(scope: Construct, id: string, stack: TelemetryStack) {
    super(scope, id);
    const { clickhouse } = stack.spec;
    const name = stack.metadata.name;
    const names = stackNames(name);
    const labels = componentLabels(name, 'clickhouse', imageTag(clickhouse.image));
    // volumeClaimTemplates are immutable: no version label there, or an image upgrade could not be applied.
    const claimLabels = componentLabels(name, 'clickhouse');
    const selector = selectorLabels(name, 'clickhouse');

    this.serverXml = serverConfigXml(stack);
    this.usersXml = usersConfigXml(stack);
    this.configHash = contentHash(this.serverXml, this.usersXml);

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: names.clickhouseConfig, labels },
      data: { [CONFIG_MAP_KEYS.server]: this.serverXml, [CONFIG_MAP_KEYS.users]: this.usersXml },
    });

    const ports: k8s.ServicePort[] = [
      { name: 'http', port: PORTS.clickhouseHttp, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' },
      { name: 'native', port: PORTS.clickhouseNative, targetPort: k8s.IntOrString.fromString('native'), protocol: 'TCP' },
    ];
    new k8s.KubeService(this, 'headless', {
      metadata: { name: names.clickhouseHeadless, labels },
      // Gives the pod its stable DNS name; published before it is ready so that it resolves during startup.
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports },
    });
    new k8s.KubeService(this, 'service', {
      metadata: { name: names.clickhouse, labels },
      spec: { type: 'ClusterIP', selector, ports },
    });
    if (clickhouse.service.type === 'NodePort') {
      // HTTP only, in a Service of its own: a NodePort Service would publish the native port too.
      new k8s.KubeService(this, 'node-port', {
        metadata: { name: names.clickhouseNodePort, labels },
        spec: { type: 'NodePort', selector, ports: [{ ...ports[0]!, nodePort: clickhouse.service.nodePort }] },
      });
    }

    const ping = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path: '/ping', port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      timeoutSeconds: 5,
      failureThreshold,
    });

    const volumes: k8s.Volume[] = [
      // config.d and users.d are replaced whole: the image's docker_related_config.xml
      // (listen on "::") is left out, and only our files are merged over config.xml/users.xml.
      {
        name: 'config-d',
        configMap: { name: names.clickhouseConfig, items: [{ key: CONFIG_MAP_KEYS.server, path: CLICKHOUSE_PATHS.fileName }] },
      },
      {
        name: 'users-d',
        configMap: { name: names.clickhouseConfig, items: [{ key: CONFIG_MAP_KEYS.users, path: CLICKHOUSE_PATHS.fileName }] },
      },
      { name: 'logs', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ];
    const volumeMounts: k8s.VolumeMount[] = [
      { name: names.clickhouseDataClaim, mountPath: CLICKHOUSE_PATHS.dataDir },
      { name: 'config-d', mountPath: CLICKHOUSE_PATHS.configDir, readOnly: true },
      { name: 'users-d', mountPath: CLICKHOUSE_PATHS.usersDir, readOnly: true },
      { name: 'logs', mountPath: CLICKHOUSE_PATHS.logDir },
      { name: 'tmp', mountPath: '/tmp' },
    ];

    const template = restrictedPodTemplate({
      labels,
      configHash: this.configHash,
      uid: CLICKHOUSE_UID,
      // Time to finish in-flight inserts and flush the system logs.
      terminationGracePeriodSeconds: 60,
      containers: [
        {
          name: 'clickhouse',
          image: clickhouse.image,
          imagePullPolicy: clickhouse.imagePullPolicy,
          // The server itself, not the image's entrypoint: that one wants root to chown
          // and writes users.d files, neither possible as uid 101 on a read-only root.
          command: ['/usr/bin/clickhouse-server', `--config-file=${CLICKHOUSE_PATHS.configFile}`],
          ports: [
            { name: 'http', containerPort: PORTS.clickhouseHttp, protocol: 'TCP' },
            { name: 'native', containerPort: PORTS.clickhouseNative, protocol: 'TCP' },
          ],
          env: [
            // Without a TTY the server forks a watchdog parent; keep the server as PID 1 so it gets SIGTERM.
            { name: 'CLICKHOUSE_WATCHDOG_ENABLE', value: '0' },
            hashFromSecret(CLICKHOUSE_ENV.adminPasswordSha256, names.clickhouseAdminSecret),
            hashFromSecret(CLICKHOUSE_ENV.ingestPasswordSha256, names.clickhouseIngestSecret),
          ],
          resources: containerResources(clickhouse.resources),
          volumeMounts,
          // Loading many parts after an unclean stop can take minutes: up to 10 before giving up.
          startupProbe: ping(5, 120),
          readinessProbe: ping(10, 3),
          livenessProbe: { ...ping(20, 6), initialDelaySeconds: 30 },
        },
      ],
      volumes,
      scheduling: clickhouse,
    });

    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: names.clickhouse, labels },
      spec: {
        replicas: 1,
        serviceName: names.clickhouseHeadless,
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        // The data outlives the stack: deleting the TelemetryStack (or scaling to 0) keeps the volume.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template,
        volumeClaimTemplates: [
          {
            metadata: { name: names.clickhouseDataClaim, labels: claimLabels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(clickhouse.storage.storageClassName ? { storageClassName: clickhouse.storage.storageClassName } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(clickhouse.storage.size) } },
            },
          },
        ],
      },
    });
  }
}
