import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import type { TelemetryStack } from '../src/api/resource.ts';
import { validateStack } from '../src/api/validate.ts';
import { ClickHouseServer, CLICKHOUSE_UID } from '../src/charts/clickhouse/clickhouse.ts';
import {
  CLICKHOUSE_ENV,
  CONFIG_MAP_KEYS,
  escapeXml,
  serverConfigXml,
  SYSTEM_LOG_TABLES,
  SYSTEM_LOG_TTL_DAYS,
  usersConfigXml,
} from '../src/charts/clickhouse/config.ts';
import { CONFIG_HASH_ANNOTATION, contentHash } from '../src/stack/hash.ts';
import { selectorLabels } from '../src/stack/labels.ts';
import { stackNames } from '../src/stack/naming.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { ADMIN_USER, INGEST_USER, RAW_TABLES } from '../src/clickhouse/tables.ts';
import { kubeSchemaErrors } from './support/kube-schema.ts';

// ---------------------------------------------------------------- helpers

function stackFrom(spec: unknown): TelemetryStack {
  const result = validateStack(spec);
  if (!result.ok) throw new Error(`invalid spec in test: ${JSON.stringify(result.problems)}`);
  return result.stack;
}

type Json = Record<string, any>;

function synth(stack: TelemetryStack): Json[] {
  const chart = new Chart(new App(), 'test', { namespace: 'team' });
  new ClickHouseServer(chart, 'clickhouse', stack);
  return chart.toJson() as Json[];
}

function find(objects: Json[], kind: string, name: string): Json {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
}

const names = stackNames('telemetry');
const statefulSet = (objects: Json[]) => find(objects, 'StatefulSet', names.clickhouse);
const podSpec = (objects: Json[]) => statefulSet(objects).spec.template.spec;
const container = (objects: Json[]) => podSpec(objects).containers[0];
const configMap = (objects: Json[]) => find(objects, 'ConfigMap', names.clickhouseConfig);

/**
 * A strict little XML parser for the subset the config files use: a prolog, comments,
 * elements with double-quoted attributes, text with the five predefined entities. It
 * throws on anything not well-formed, and returns the element tree for assertions.
 */
interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function parseXml(source: string): XmlElement {
  let pos = 0;
  const fail = (message: string): never => {
    throw new Error(`${message} at offset ${pos}: ${JSON.stringify(source.slice(pos, pos + 40))}`);
  };
  const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
  const readName = () => {
    NAME.lastIndex = pos;
    const match = NAME.exec(source) ?? fail('expected a name');
    pos += match[0].length;
    return match[0];
  };
  const skipSpace = () => {
    while (pos < source.length && ' \t\r\n'.includes(source[pos]!)) pos++;
  };
  const decode = (raw: string) => {
    if (raw.includes('<')) fail('raw "<" in text or attribute');
    return raw.replace(/&(#?\w+);|&/g, (entity, body: string | undefined) => {
      const known: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (body === undefined || !(body in known)) return fail(`bad entity ${entity}`);
      return known[body]!;
    });
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos + 4);
        if (end === -1) fail('unterminated comment');
        if (source.slice(pos + 4, end).includes('--')) fail('"--" inside a comment');
        pos = end + 3;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (source[pos] !== '<') fail('expected "<"');
    pos++;
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (source.startsWith('/>', pos)) {
        pos += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (source[pos] === '>') {
        pos++;
        break;
      }
      const attribute = readName();
      if (attribute in attributes) fail(`duplicate attribute ${attribute}`);
      if (source[pos] !== '=' || source[pos + 1] !== '"') fail('expected =" after attribute name');
      const end = source.indexOf('"', pos + 2);
      if (end === -1) fail('unterminated attribute');
      attributes[attribute] = decode(source.slice(pos + 2, end));
      pos = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (pos >= source.length) fail(`unclosed <${name}>`);
      if (source.startsWith('</', pos)) {
        pos += 2;
        if (readName() !== name) fail(`mismatched closing tag for <${name}>`);
        if (source[pos] !== '>') fail('expected ">"');
        pos++;
        return { name, attributes, children, text: text.trim() };
      }
      if (source.startsWith('<!--', pos)) skipMisc();
      else if (source[pos] === '<') children.push(element());
      else {
        const end = source.indexOf('<', pos);
        text += decode(source.slice(pos, end === -1 ? source.length : end));
        pos = end === -1 ? source.length : end;
      }
    }
  };

  if (source.startsWith('<?xml', pos)) {
    const end = source.indexOf('?>', pos);
    if (end === -1) fail('unterminated prolog');
    pos = end + 2;
  }
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== source.length) fail('content after the root element');
  return root;
}

function child(parent: XmlElement, name: string): XmlElement {
  const found = parent.children.filter((c) => c.name === name);
  expect(found, `<${parent.name}> has one <${name}>`).toHaveLength(1);
  return found[0]!;
}

function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}

// ---------------------------------------------------------------- tests

const defaults = stackFrom({});

describe('XML checker used by these tests', () => {
  it.each([
    ['unclosed element', '<a><b></a>'],
    ['mismatched tag', '<a></b>'],
    ['two roots', '<a/><b/>'],
    ['bare ampersand', '<a>x & y</a>'],
    ['unquoted attribute', '<a b=1/>'],
    ['duplicate attribute', '<a b="1" b="2"/>'],
    ['double dash in comment', '<!-- a -- b --><a/>'],
    ['raw < in attribute', '<a b="<"/>'],
  ])('rejects %s', (_what, source) => {
    expect(() => parseXml(source)).toThrow();
  });

  it('accepts and decodes what the renderer writes', () => {
    const root = parseXml(`<?xml version="1.0"?>\n<!-- c -->\n<a k="${escapeXml('"<&>\'')}"><b>${escapeXml('x < y & z')}</b><c/></a>\n`);
    expect(root.attributes.k).toBe('"<&>\'');
    expect(child(root, 'b').text).toBe('x < y & z');
  });
});

describe('ClickHouse server configuration files', () => {
  it('are well-formed XML with a <clickhouse> root', () => {
    for (const xml of [serverConfigXml(defaults), usersConfigXml(defaults)]) {
      expect(parseXml(xml).name).toBe('clickhouse');
    }
  });

  it('are deterministic: the same stack gives the same bytes', () => {
    const again = stackFrom({});
    expect(serverConfigXml(again)).toBe(serverConfigXml(defaults));
    expect(usersConfigXml(again)).toBe(usersConfigXml(defaults));
    expect(JSON.stringify(synth(again))).toBe(JSON.stringify(synth(defaults)));
  });

  it('listen on IPv4 with the HTTP and native ports, and switch off the ports a single node does not use', () => {
    const server = parseXml(serverConfigXml(defaults));
    expect(child(server, 'listen_host').text).toBe('0.0.0.0');
    expect(child(server, 'http_port').text).toBe('8123');
    expect(child(server, 'tcp_port').text).toBe('9000');
    for (const port of ['interserver_http_port', 'mysql_port', 'postgresql_port']) {
      expect(child(server, port).attributes.remove, port).toBe('1');
    }
  });

  it('log to the console only and cap server memory', () => {
    const server = parseXml(serverConfigXml(defaults));
    const logger = child(server, 'logger');
    expect(child(logger, 'console').text).toBe('1');
    expect(child(logger, 'level').text).toBe('information');
    expect(child(logger, 'log').attributes.remove).toBe('1');
    expect(child(logger, 'errorlog').attributes.remove).toBe('1');
    expect(Number(child(server, 'max_server_memory_usage_to_ram_ratio').text)).toBe(0.8);
    expect(child(child(server, 'send_crash_reports'), 'enabled').text).toBe('false');
  });

  it('keep SQL-created users and roles on the data volume', () => {
    const directories = child(parseXml(serverConfigXml(defaults)), 'user_directories');
    expect(directories.attributes.replace).toBe('1');
    expect(child(child(directories, 'local_directory'), 'path').text).toBe('/var/lib/clickhouse/access/');
    expect(child(child(directories, 'users_xml'), 'path').text).toBe('users.xml');
  });

  it('put a TTL on, or switch off, every system log table', () => {
    const server = parseXml(serverConfigXml(defaults));
    const listed = [
      'query_log', 'query_thread_log', 'query_views_log', 'part_log', 'trace_log', 'metric_log',
      'asynchronous_metric_log', 'text_log', 'processors_profile_log', 'opentelemetry_span_log', 'session_log',
      'zookeeper_log', 'error_log', 'latency_log', 'blob_storage_log', 'backup_log', 's3queue_log',
      'asynchronous_insert_log',
    ];
    expect(Object.keys(SYSTEM_LOG_TABLES)).toEqual(expect.arrayContaining(listed));
    for (const [table, policy] of Object.entries(SYSTEM_LOG_TABLES)) {
      const element = child(server, table);
      if (policy === 'remove') {
        expect(element.attributes.remove, table).toBe('1');
        expect(element.children, table).toEqual([]);
      } else {
        expect(element.attributes, table).toEqual({});
        expect(child(element, 'ttl').text, table).toBe(`event_date + INTERVAL ${SYSTEM_LOG_TTL_DAYS} DAY DELETE`);
        // A <ttl> next to an <engine> is rejected by ClickHouse.
        expect(element.children.map((c) => c.name), table).not.toContain('engine');
      }
    }
  });

  it('remove the passwordless default user', () => {
    const users = child(parseXml(usersConfigXml(defaults)), 'users');
    const fallback = child(users, 'default');
    expect(fallback.attributes.remove).toBeDefined();
    expect(fallback.children).toEqual([]);
  });

  it('read password hashes only from the environment', () => {
    const xml = usersConfigXml(defaults);
    const users = child(parseXml(xml), 'users');
    const expected = { [ADMIN_USER]: CLICKHOUSE_ENV.adminPasswordSha256, [INGEST_USER]: CLICKHOUSE_ENV.ingestPasswordSha256 };
    for (const [user, variable] of Object.entries(expected)) {
      const hash = child(child(users, user), 'password_sha256_hex');
      expect(hash.attributes).toEqual({ from_env: variable });
      expect(hash.text).toBe('');
      expect(hash.children).toEqual([]);
    }
    // No password of any kind is written into either file.
    for (const file of [xml, serverConfigXml(defaults)]) {
      const elements = allElements(parseXml(file));
      const credentials = elements.filter((e) => /password|secret/i.test(e.name) && e.name !== 'show_named_collections_secrets');
      for (const credential of credentials) {
        expect(credential.name).toBe('password_sha256_hex');
        expect(credential.text).toBe('');
      }
      expect(file).not.toMatch(/\b[0-9a-f]{32,}\b/i);
    }
  });

  it('give the admin access management and the ingest user only INSERT and SHOW COLUMNS on the raw tables', () => {
    const stack = stackFrom({ clickhouse: { database: 'team_telemetry' } });
    const users = child(parseXml(usersConfigXml(stack)), 'users');
    const admin = child(users, ADMIN_USER);
    expect(child(admin, 'access_management').text).toBe('1');
    expect(admin.children.map((c) => c.name)).not.toContain('grants');

    const ingest = child(users, INGEST_USER);
    // ClickHouse refuses `grants` together with any other access-control setting.
    for (const setting of ['access_management', 'named_collection_control', 'show_named_collections_secrets', 'allow_databases']) {
      expect(ingest.children.map((c) => c.name)).not.toContain(setting);
    }
    const grants = child(ingest, 'grants').children.map((query) => query.text);
    expect(grants).toEqual(Object.values(RAW_TABLES).map((table) => `GRANT INSERT, SHOW COLUMNS ON \`team_telemetry\`.\`${table}\``));

    expect(users.children.map((c) => c.name).sort()).toEqual([ADMIN_USER, 'default', INGEST_USER].sort());
  });
});

describe('ClickHouseServer construct', () => {
  it('renders a ConfigMap, a headless and a client Service, and a StatefulSet, in the chart namespace', () => {
    const objects = synth(defaults);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        `ConfigMap/${names.clickhouseConfig}`,
        `Service/${names.clickhouse}`,
        `Service/${names.clickhouseHeadless}`,
        `StatefulSet/${names.clickhouse}`,
      ].sort(),
    );
    for (const object of objects) expect(object.metadata.namespace).toBe('team');
  });

  it('renders objects that validate against the Kubernetes OpenAPI schema', async () => {
    for (const object of synth(stackFrom({ clickhouse: { storage: { storageClassName: 'fast' } } }))) {
      expect(await kubeSchemaErrors(object as any), `${object.kind}/${object.metadata.name}`).toBeUndefined();
    }
  });

  it('puts both XML files into the ConfigMap', () => {
    const data = configMap(synth(defaults)).data;
    expect(Object.keys(data).sort()).toEqual([CONFIG_MAP_KEYS.server, CONFIG_MAP_KEYS.users].sort());
    expect(data[CONFIG_MAP_KEYS.server]).toBe(serverConfigXml(defaults));
    expect(data[CONFIG_MAP_KEYS.users]).toBe(usersConfigXml(defaults));
  });

  it('exposes http 8123 and native 9000 on a headless and a ClusterIP Service selecting the server pod', () => {
    const objects = synth(defaults);
    const selector = selectorLabels('telemetry', 'clickhouse');
    const headless = find(objects, 'Service', names.clickhouseHeadless).spec;
    const client = find(objects, 'Service', names.clickhouse).spec;
    expect(headless.clusterIP).toBe('None');
    expect(headless.publishNotReadyAddresses).toBe(true);
    expect(client.type).toBe('ClusterIP');
    expect(client.clusterIP).toBeUndefined();
    for (const spec of [headless, client]) {
      expect(spec.selector).toEqual(selector);
      expect(spec.ports.map((p: Json) => [p.name, p.port, p.targetPort])).toEqual([
        ['http', 8123, 'http'],
        ['native', 9000, 'native'],
      ]);
    }
    expect(container(objects).ports.map((p: Json) => [p.name, p.containerPort])).toEqual([
      ['http', 8123],
      ['native', 9000],
    ]);
  });

  it('with service.type NodePort, publishes only HTTP on the fixed node port, in a Service of its own; none by default', async () => {
    expect(synth(defaults).filter((o) => o.metadata.name === names.clickhouseNodePort)).toEqual([]);
    const objects = synth(stackFrom({ clickhouse: { service: { type: 'NodePort', nodePort: 30124 } } }));
    const published = find(objects, 'Service', names.clickhouseNodePort);
    expect(published.spec.type).toBe('NodePort');
    expect(published.spec.selector).toEqual(selectorLabels('telemetry', 'clickhouse'));
    expect(published.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort, p.nodePort])).toEqual([['http', 8123, 'http', 30124]]);
    // The client Service stays ClusterIP, so the native port is never published.
    expect(find(objects, 'Service', names.clickhouse).spec.type).toBe('ClusterIP');
    expect(await kubeSchemaErrors(published as any)).toBeUndefined();
  });

  it('runs one replica with a fixed selector, rolling updates, and volumes kept after deletion', () => {
    const objects = synth(defaults);
    const spec = statefulSet(objects).spec;
    const selector = selectorLabels('telemetry', 'clickhouse');
    expect(spec.replicas).toBe(1);
    expect(spec.serviceName).toBe(names.clickhouseHeadless);
    expect(spec.selector).toEqual({ matchLabels: selector });
    expect(spec.template.metadata.labels).toMatchObject(selector);
    expect(statefulSet(objects).metadata.labels['app.kubernetes.io/version']).toBe('26.3');
    expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate' });
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('claims the data volume with the spec size, and a storage class only when one is set', () => {
    const [defaultClaim] = statefulSet(synth(defaults)).spec.volumeClaimTemplates;
    expect(defaultClaim.metadata.name).toBe(names.clickhouseDataClaim);
    expect(defaultClaim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(defaultClaim.spec.resources.requests.storage).toBe('20Gi');
    expect(defaultClaim.spec).not.toHaveProperty('storageClassName');
    // volumeClaimTemplates are immutable: a version label there would block image upgrades.
    expect(defaultClaim.metadata.labels).not.toHaveProperty('app.kubernetes.io/version');

    const sized = stackFrom({ clickhouse: { storage: { size: '100Gi', storageClassName: 'fast-ssd' } } });
    const [claim] = statefulSet(synth(sized)).spec.volumeClaimTemplates;
    expect(claim.spec.resources.requests.storage).toBe('100Gi');
    expect(claim.spec.storageClassName).toBe('fast-ssd');
  });

  it('mounts the data volume, the two config directories and writable scratch space', () => {
    const objects = synth(defaults);
    const mounts = Object.fromEntries(container(objects).volumeMounts.map((m: Json) => [m.mountPath, m]));
    expect(mounts['/var/lib/clickhouse'].name).toBe(names.clickhouseDataClaim);
    expect(mounts['/etc/clickhouse-server/config.d'].readOnly).toBe(true);
    expect(mounts['/etc/clickhouse-server/users.d'].readOnly).toBe(true);
    expect(Object.keys(mounts).sort()).toEqual(
      ['/etc/clickhouse-server/config.d', '/etc/clickhouse-server/users.d', '/tmp', '/var/lib/clickhouse', '/var/log/clickhouse-server'].sort(),
    );
    const volumes = Object.fromEntries(podSpec(objects).volumes.map((v: Json) => [v.name, v]));
    const fileIn = (mountPath: string) => {
      const volume = volumes[mounts[mountPath].name];
      expect(volume.configMap.name).toBe(names.clickhouseConfig);
      return volume.configMap.items;
    };
    expect(fileIn('/etc/clickhouse-server/config.d')).toEqual([{ key: CONFIG_MAP_KEYS.server, path: 'telemetry-stack.xml' }]);
    expect(fileIn('/etc/clickhouse-server/users.d')).toEqual([{ key: CONFIG_MAP_KEYS.users, path: 'telemetry-stack.xml' }]);
    expect(volumes[mounts['/tmp'].name].emptyDir).toEqual({});
    expect(volumes[mounts['/var/log/clickhouse-server'].name].emptyDir).toEqual({});
  });

  it('runs the server binary directly, with probes on /ping', () => {
    const c = container(synth(defaults));
    expect(c.command).toEqual(['/usr/bin/clickhouse-server', '--config-file=/etc/clickhouse-server/config.xml']);
    expect(c.args).toBeUndefined();
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(c[probe].httpGet, probe).toEqual({ path: '/ping', port: 'http' });
    }
    // The liveness probe must never kill a server that is slow but alive.
    expect(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(60);
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(300);
  });

  it('runs under the restricted Pod Security Standard as the image\'s clickhouse user', () => {
    const objects = synth(defaults);
    const pod = podSpec(objects);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: CLICKHOUSE_UID,
      runAsGroup: CLICKHOUSE_UID,
      fsGroup: CLICKHOUSE_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(CLICKHOUSE_UID).toBe(101);
    expect(container(objects).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.terminationGracePeriodSeconds).toBe(60);
  });

  it('takes only password hashes from the Secrets, under the names the users file reads', () => {
    const env: Json[] = container(synth(defaults)).env;
    const fromSecrets = env.filter((e) => e.valueFrom?.secretKeyRef);
    expect(fromSecrets.map((e) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key])).toEqual([
      [CLICKHOUSE_ENV.adminPasswordSha256, names.clickhouseAdminSecret, 'password_sha256_hex'],
      [CLICKHOUSE_ENV.ingestPasswordSha256, names.clickhouseIngestSecret, 'password_sha256_hex'],
    ]);
    for (const e of fromSecrets) expect(e.valueFrom.secretKeyRef.key).not.toBe('password');
    expect(env.every((e) => e.value === undefined || !/password/i.test(e.name))).toBe(true);
  });

  it('matches the keys of the generated Secrets, and no generated secret value appears in the manifests', () => {
    let counter = 0;
    const random = (bytes: number) => Buffer.alloc(bytes, ++counter);
    const secrets = generateSecrets(defaults, random);
    const byName = Object.fromEntries(secrets.map((s) => [s.metadata.name, s.stringData]));
    const manifests = JSON.stringify(synth(defaults));
    for (const secretName of [names.clickhouseAdminSecret, names.clickhouseIngestSecret]) {
      const data = byName[secretName]!;
      expect(data).toHaveProperty('password_sha256_hex');
      for (const value of [data.password!, data.password_sha256_hex!]) expect(manifests).not.toContain(value);
    }
  });

  it('copies resources from the spec, omitting unset keys, and the pull policy', () => {
    const c = container(synth(defaults));
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } });
    expect(c.imagePullPolicy).toBe('IfNotPresent');

    const custom = stackFrom({
      clickhouse: { imagePullPolicy: 'Always', resources: { requests: { memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } } },
    });
    const customContainer = container(synth(custom));
    expect(customContainer.resources).toEqual({ requests: { memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } });
    expect(customContainer.imagePullPolicy).toBe('Always');
  });
});

describe('config hash', () => {
  const hashOf = (stack: TelemetryStack) =>
    statefulSet(synth(stack)).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION] as string;

  it('is the sha256 of the two files in the ConfigMap', () => {
    const objects = synth(defaults);
    const data = configMap(objects).data;
    const hash = statefulSet(objects).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(contentHash(data[CONFIG_MAP_KEYS.server], data[CONFIG_MAP_KEYS.users]));
    expect(hash).toBe(contentHash(serverConfigXml(defaults), usersConfigXml(defaults)));
    expect(Object.keys(statefulSet(objects).spec.template.metadata.annotations)).toEqual([CONFIG_HASH_ANNOTATION]);
  });

  it('changes when the configuration changes', () => {
    expect(hashOf(stackFrom({ clickhouse: { database: 'other_db' } }))).not.toBe(hashOf(defaults));
  });

  it('does not change for anything that is not in the configuration files', () => {
    const unrelated = [
      { clickhouse: { storage: { size: '200Gi', storageClassName: 'fast' } } },
      { clickhouse: { image: 'mirror.example/clickhouse/clickhouse-server:26.3.2', imagePullPolicy: 'Always' } },
      { clickhouse: { resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '8Gi' } } } },
      { retention: { eventsDays: 30, metricsDays: 30, rollupsDays: 365 } },
      { level: 'full', collector: { replicas: 3 } },
    ];
    for (const spec of unrelated) expect(hashOf(stackFrom(spec)), JSON.stringify(spec)).toBe(hashOf(defaults));
  });
});
