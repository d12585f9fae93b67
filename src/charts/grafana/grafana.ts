/**
 * Optional Grafana (spec.grafana.enabled): the official ClickHouse data source, provisioned
 * read-only and logged in as the read-only GRAFANA_USER, and the dashboards generated from
 * the query library. Passwords reach Grafana as environment variables from the
 * <stack>-grafana Secret; the provisioning file names the variable, never the value.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { GRAFANA_IMAGE_PLUGINS_DIR } from '../../api/constants.ts';
import type { TelemetryStack } from '../../api/resource.ts';
import { type LibraryQuery, loadLibrary } from '../../clickhouse/queries.ts';
import { GRAFANA_USER } from '../../clickhouse/tables.ts';
import { VERSIONS } from '../../versions.ts';
import { contentHash } from '../../stack/hash.ts';
import { componentLabels, imageTag, selectorLabels } from '../../stack/labels.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';
import { containerResources } from '../resources.ts';
import { SECRET_KEYS } from '../../stack/secrets.ts';
import { restrictedPodTemplate } from '../security.ts';
import { DASHBOARDS, dashboardJson, DATASOURCE_TYPE, DATASOURCE_UID, libraryIndex } from './dashboards.ts';

/** The grafana/grafana image runs as this user. */
const GRAFANA_UID = 472;
const PASSWORD_ENV = 'CLICKHOUSE_PASSWORD';
const PATHS = {
  provisioning: '/etc/grafana/provisioning',
  dashboards: '/etc/grafana/dashboards',
  data: '/var/lib/grafana',
  logs: '/var/log/grafana',
  tmp: '/tmp',
} as const;

/** Where the data source connects: the in-cluster ClickHouse Service over HTTP, or the external endpoint. */
export function clickhouseConnection(stack: TelemetryStack): { host: string; port: number; secure: boolean } {
  const { clickhouse } = stack.spec;
  if (clickhouse.mode === 'external' && clickhouse.external) {
    const url = new URL(clickhouse.external.endpoint);
    const secure = url.protocol === 'https:';
    return { host: url.hostname, port: url.port ? Number(url.port) : secure ? 8443 : 8123, secure };
  }
  const namespace = stack.metadata.namespace ?? 'default';
  return { host: `${stackNames(stack.metadata.name).clickhouse}.${namespace}.svc.cluster.local`, port: PORTS.clickhouseHttp, secure: false };
}

/** Provisioning files: the data source (not editable in the UI) and the dashboard folder provider. */
export function provisioningFiles(stack: TelemetryStack): Record<string, string> {
  const connection = clickhouseConnection(stack);
  const datasource = {
    apiVersion: 1,
    datasources: [
      {
        name: 'ClickHouse (telemetry)',
        uid: DATASOURCE_UID,
        type: DATASOURCE_TYPE,
        editable: false,
        isDefault: true,
        jsonData: {
          host: connection.host,
          port: connection.port,
          protocol: 'http',
          secure: connection.secure,
          username: GRAFANA_USER,
          defaultDatabase: stack.spec.clickhouse.database,
        },
        // Grafana expands environment variables in provisioning files: the value stays in the Secret.
        secureJsonData: { password: `\${${PASSWORD_ENV}}` },
      },
    ],
  };
  const provider = {
    apiVersion: 1,
    providers: [
      {
        name: 'telemetry-stack',
        folder: 'Claude Code',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: PATHS.dashboards },
      },
    ],
  };
  return {
    'datasource.yaml': stringify(datasource, { lineWidth: 0 }),
    'dashboards.yaml': stringify(provider, { lineWidth: 0 }),
  };
}

export function dashboardFiles(library: readonly LibraryQuery[]): Record<string, string> {
  const index = libraryIndex(library);
  return Object.fromEntries(DASHBOARDS.map((definition) => [`${definition.uid}.json`, `${JSON.stringify(dashboardJson(definition, index), null, 2)}\n`]));
}

/**
 * Where the ClickHouse plugin comes from. Either way nothing else is fetched: Grafana 12 also
 * installs a few app plugins in the background unless preinstalling is off, and checks plugin
 * signatures against keys it would download.
 */
export function pluginEnv(plugins: 'download' | 'image'): k8s.EnvVar[] {
  const quiet = [{ name: 'GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED', value: 'true' }];
  if (plugins === 'image') {
    return [{ name: 'GF_PATHS_PLUGINS', value: GRAFANA_IMAGE_PLUGINS_DIR }, { name: 'GF_PLUGINS_PREINSTALL_DISABLED', value: 'true' }, ...quiet];
  }
  return [
    { name: 'GF_PATHS_PLUGINS', value: `${PATHS.data}/plugins` },
    // Installed before the server starts, at the pinned version (Grafana 12.1+); only this one.
    { name: 'GF_PLUGINS_PREINSTALL_SYNC', value: `${DATASOURCE_TYPE}@${VERSIONS.grafanaClickhousePlugin}` },
    { name: 'GF_PLUGINS_PREINSTALL_AUTO_UPDATE', value: 'false' },
    ...quiet,
  ];
}

export class GrafanaServer extends Construct {
  constructor(scope: Construct, id: string, stack: TelemetryStack, library: readonly LibraryQuery[] = loadLibrary()) {
    super(scope, id);
    const { grafana } = stack.spec;
    const name = stack.metadata.name;
    const names = stackNames(name);
    const labels = componentLabels(name, 'grafana', imageTag(grafana.image));
    const selector = selectorLabels(name, 'grafana');

    const provisioning = provisioningFiles(stack);
    const dashboards = dashboardFiles(library);
    new k8s.KubeConfigMap(this, 'provisioning', { metadata: { name: names.grafanaProvisioning, labels }, data: provisioning });
    new k8s.KubeConfigMap(this, 'dashboards', { metadata: { name: names.grafanaDashboards, labels }, data: dashboards });

    const secretEnv = (envName: string, key: string): k8s.EnvVar => ({ name: envName, valueFrom: { secretKeyRef: { name: names.grafanaSecret, key, optional: false } } });
    const env: k8s.EnvVar[] = [
      { name: 'GF_SECURITY_ADMIN_USER', value: 'admin' },
      secretEnv('GF_SECURITY_ADMIN_PASSWORD', SECRET_KEYS.adminPassword),
      secretEnv(PASSWORD_ENV, SECRET_KEYS.password),
      { name: 'GF_PATHS_PROVISIONING', value: PATHS.provisioning },
      { name: 'GF_PATHS_DATA', value: PATHS.data },
      { name: 'GF_PATHS_LOGS', value: PATHS.logs },
      ...pluginEnv(grafana.plugins),
      { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
      { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
      { name: 'GF_ANALYTICS_REPORTING_ENABLED', value: 'false' },
      { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
      { name: 'GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', value: 'false' },
      { name: 'GF_NEWS_NEWS_FEED_ENABLED', value: 'false' },
    ];

    const probe = (failureThreshold: number): k8s.Probe => ({
      httpGet: { path: '/api/health', port: k8s.IntOrString.fromString('http') },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold,
    });
    const emptyDir = (volume: string): k8s.Volume => ({ name: volume, emptyDir: {} });

    new k8s.KubeService(this, 'service', {
      metadata: { name: names.grafana, labels },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: PORTS.grafana, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' }] },
    });

    new k8s.KubeDeployment(this, 'workload', {
      metadata: { name: names.grafana, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        // One replica with an emptyDir database: replace it rather than run two side by side.
        strategy: { type: 'Recreate' },
        template: restrictedPodTemplate({
          labels,
          configHash: contentHash(stringify({ provisioning, dashboards })),
          uid: GRAFANA_UID,
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'grafana',
              image: grafana.image,
              imagePullPolicy: grafana.imagePullPolicy,
              ports: [{ name: 'http', containerPort: PORTS.grafana, protocol: 'TCP' }],
              env,
              resources: containerResources(grafana.resources),
              volumeMounts: [
                { name: 'provisioning', mountPath: PATHS.provisioning, readOnly: true },
                { name: 'dashboards', mountPath: PATHS.dashboards, readOnly: true },
                { name: 'data', mountPath: PATHS.data },
                { name: 'logs', mountPath: PATHS.logs },
                { name: 'tmp', mountPath: PATHS.tmp },
              ],
              // A plugin download at start takes a while; from the image, start-up is quick.
              startupProbe: { ...probe(grafana.plugins === 'download' ? 30 : 12), periodSeconds: 5 },
              readinessProbe: probe(3),
              livenessProbe: probe(6),
            },
          ],
          volumes: [
            {
              name: 'provisioning',
              configMap: {
                name: names.grafanaProvisioning,
                items: [
                  { key: 'datasource.yaml', path: 'datasources/datasource.yaml' },
                  { key: 'dashboards.yaml', path: 'dashboards/dashboards.yaml' },
                ],
              },
            },
            { name: 'dashboards', configMap: { name: names.grafanaDashboards } },
            emptyDir('data'),
            emptyDir('logs'),
            emptyDir('tmp'),
          ],
          scheduling: grafana,
        }),
      },
    });

    new k8s.KubeNetworkPolicy(this, 'network', {
      metadata: { name: names.grafana, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        // The UI from inside the namespace (port-forward, an ingress controller placed there).
        ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.grafana) }] }],
      },
    });
  }
}
