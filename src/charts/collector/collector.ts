/**
 * The collector workload. With the persistent queue on (the default) it is a
 * StatefulSet so that each replica gets its own queue volume that survives restarts
 * and rescheduling; without it, a Deployment.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import type { TelemetryStack } from '../../api/resource.ts';
import { HASH_KEY_ENV } from '../../sanitizer/compile.ts';
import { contentHash, INGEST_AUTH_ANNOTATION, INGEST_USERS_ANNOTATION, SCHEMA_VERSION_ANNOTATION } from '../../stack/hash.ts';
import { componentLabels, imageTag, selectorLabels } from '../../stack/labels.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';
import type { RenderInputs } from '../render-inputs.ts';
import { containerResources } from '../resources.ts';
import { SECRET_KEYS } from '../../stack/secrets.ts';
import { restrictedPodTemplate } from '../security.ts';
import { checkConfigSize, COLLECTOR_ENV, COLLECTOR_PATHS, type CollectorConfig, collectorConfig, goMemoryLimit } from './config.ts';

/** The contrib image runs as this user. */
const COLLECTOR_UID = 10001;
const CONFIG_KEY = 'config.yaml';

/** The collector configuration exactly as it is written into the ConfigMap. */
export function collectorConfigYaml(config: CollectorConfig): string {
  // No anchors: shared objects are written out in full, as a person would read and diff them.
  return stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}

function secretEnv(name: string, secret: string, key: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key, optional: false } } };
}

export class Collector extends Construct {
  readonly config: CollectorConfig;
  readonly configYaml: string;
  readonly configHash: string;

  constructor(scope: Construct, id: string, stack: TelemetryStack, inputs: RenderInputs = {}) {
    super(scope, id);
    const { spec } = stack;
    const { collector } = spec;
    const name = stack.metadata.name;
    const names = stackNames(name);
    const labels = componentLabels(name, 'collector', imageTag(collector.image));
    const selector = selectorLabels(name, 'collector');

    this.config = collectorConfig(stack);
    this.configYaml = collectorConfigYaml(this.config);
    checkConfigSize(this.configYaml);
    this.configHash = contentHash(this.configYaml);

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: names.collectorConfig, labels },
      data: { [CONFIG_KEY]: this.configYaml },
    });

    const servicePorts: k8s.ServicePort[] = [
      {
        name: 'otlp-grpc',
        port: PORTS.otlpGrpc,
        targetPort: k8s.IntOrString.fromString('otlp-grpc'),
        protocol: 'TCP',
        appProtocol: 'grpc',
        ...(collector.service.type === 'NodePort' ? { nodePort: collector.service.nodePorts.otlpGrpc } : {}),
      },
      {
        name: 'otlp-http',
        port: PORTS.otlpHttp,
        targetPort: k8s.IntOrString.fromString('otlp-http'),
        protocol: 'TCP',
        appProtocol: collector.tls ? 'https' : 'http',
        ...(collector.service.type === 'NodePort' ? { nodePort: collector.service.nodePorts.otlpHttp } : {}),
      },
    ];
    new k8s.KubeService(this, 'service', {
      metadata: { name: names.collector, labels },
      spec: { type: collector.service.type, selector, ports: servicePorts },
    });

    const env: k8s.EnvVar[] = [
      secretEnv(COLLECTOR_ENV.clickhouseUsername, names.clickhouseIngestSecret, SECRET_KEYS.username),
      secretEnv(COLLECTOR_ENV.clickhousePassword, names.clickhouseIngestSecret, SECRET_KEYS.password),
      secretEnv(HASH_KEY_ENV, names.sanitizerKeySecret, SECRET_KEYS.hashKey),
    ];
    const goMemLimit = goMemoryLimit(stack);
    if (goMemLimit) env.push({ name: 'GOMEMLIMIT', value: goMemLimit });
    if (spec.upstream?.headersSecret) {
      env.push(secretEnv(COLLECTOR_ENV.upstreamAuthorization, spec.upstream.headersSecret.name, spec.upstream.headersSecret.key));
    }

    const volumes: k8s.Volume[] = [
      { name: 'config', configMap: { name: names.collectorConfig, items: [{ key: CONFIG_KEY, path: CONFIG_KEY }] } },
    ];
    const mounts: k8s.VolumeMount[] = [{ name: 'config', mountPath: COLLECTOR_PATHS.configDir, readOnly: true }];
    const annotations: Record<string, string> = {};
    if (!spec.access.allowAnonymousIngestion) {
      // The basicauth extension reads htpasswd only at start: a new set of users must roll the pods.
      annotations[INGEST_USERS_ANNOTATION] = contentHash(...spec.access.users.map((user) => user.name));
      if (inputs.ingestAuthDigest) annotations[INGEST_AUTH_ANNOTATION] = inputs.ingestAuthDigest;
      volumes.push({ name: 'auth', secret: { secretName: names.ingestAuthSecret, items: [{ key: SECRET_KEYS.htpasswd, path: 'htpasswd' }] } });
      mounts.push({ name: 'auth', mountPath: COLLECTOR_PATHS.htpasswdDir, readOnly: true });
    }
    if (collector.tls) {
      // The whole Secret (tls.crt, tls.key, ca.crt when the issuer writes one) as a directory, not
      // subPath: the kubelet then updates the files when cert-manager renews the certificate.
      volumes.push({ name: 'tls', secret: { secretName: collector.tls.secretName } });
      mounts.push({ name: 'tls', mountPath: COLLECTOR_PATHS.tlsDir, readOnly: true });
    }
    if (spec.upstream?.caSecret) {
      const { name: secretName, key } = spec.upstream.caSecret;
      volumes.push({ name: 'upstream-ca', secret: { secretName, items: [{ key, path: 'ca.crt' }] } });
      mounts.push({ name: 'upstream-ca', mountPath: COLLECTOR_PATHS.upstreamCaDir, readOnly: true });
    }
    // The exporter reads the raw tables' columns once, at start: a migration must roll the pods (RenderInputs.schemaVersion).
    if (typeof inputs.schemaVersion === 'number') annotations[SCHEMA_VERSION_ANNOTATION] = String(inputs.schemaVersion);
    // Held at 0 until the schema exists: a pod started earlier would never write the columns the migration adds.
    const replicas = inputs.schemaVersion === 'pending' ? 0 : collector.replicas;
    const persistent = collector.persistentQueue.enabled;
    if (persistent) mounts.push({ name: names.collectorQueueClaim, mountPath: COLLECTOR_PATHS.queueDir });

    const probe = (path: string, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('health') },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold,
    });

    const template = restrictedPodTemplate({
      labels,
      configHash: this.configHash,
      annotations,
      uid: COLLECTOR_UID,
      // Long enough for the exporter to flush its in-memory batch into the persistent queue.
      terminationGracePeriodSeconds: 60,
      containers: [
        {
          name: 'otelcol',
          image: collector.image,
          imagePullPolicy: collector.imagePullPolicy,
          args: [`--config=${COLLECTOR_PATHS.configFile}`],
          ports: [
            { name: 'otlp-grpc', containerPort: PORTS.otlpGrpc, protocol: 'TCP' },
            { name: 'otlp-http', containerPort: PORTS.otlpHttp, protocol: 'TCP' },
            { name: 'health', containerPort: PORTS.collectorHealth, protocol: 'TCP' },
            { name: 'metrics', containerPort: PORTS.collectorMetrics, protocol: 'TCP' },
          ],
          env,
          resources: containerResources(collector.resources),
          volumeMounts: mounts,
          readinessProbe: probe('/', 3),
          livenessProbe: probe('/', 6),
        },
      ],
      volumes,
      scheduling: collector,
    });

    if (persistent) {
      new k8s.KubeService(this, 'headless', {
        metadata: { name: names.collectorHeadless, labels },
        spec: { clusterIp: 'None', selector, ports: servicePorts.map(({ nodePort: _unused, ...port }) => port) },
      });
      new k8s.KubeStatefulSet(this, 'workload', {
        metadata: { name: names.collector, labels },
        spec: {
          replicas,
          serviceName: names.collectorHeadless,
          selector: { matchLabels: selector },
          // Replicas are interchangeable; start and stop them together.
          podManagementPolicy: 'Parallel',
          updateStrategy: { type: 'RollingUpdate' },
          // A queue volume may still hold undelivered data: keep it when the stack is deleted or scaled in.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          template,
          volumeClaimTemplates: [
            {
              // No version label: a claim template cannot change after creation, and an image upgrade must not need it to.
              metadata: { name: names.collectorQueueClaim, labels: componentLabels(name, 'collector') },
              spec: {
                accessModes: ['ReadWriteOnce'],
                ...(collector.persistentQueue.storageClassName
                  ? { storageClassName: collector.persistentQueue.storageClassName }
                  : {}),
                resources: { requests: { storage: k8s.Quantity.fromString(collector.persistentQueue.size) } },
              },
            },
          ],
        },
      });
    } else {
      new k8s.KubeDeployment(this, 'workload', {
        metadata: { name: names.collector, labels },
        spec: {
          replicas,
          selector: { matchLabels: selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0) } },
          template,
        },
      });
    }
  }
}
