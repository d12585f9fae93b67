/**
 * The in-cluster ClickHouse server's configuration: two files merged over the image's
 * own config.xml and users.xml (config.d/ and users.d/). Pure functions of the stack;
 * the same stack always gives the same bytes, so their hash can roll the pod.
 *
 * How ClickHouse merges these files (ConfigProcessor::mergeRecursive): an element that
 * also exists in the image's file is merged child by child and a leaf's text replaces
 * the image's; `replace="1"` swaps the whole element; `remove="1"` deletes it and is a
 * no-op when the image has no such element. `from_env` fills an empty element from an
 * environment variable: secrets reach the server only as SHA-256 hashes in the pod's
 * environment, never in these files.
 */
import type { TelemetryStack } from '../../api/resource.ts';
import { ACCESS_MODEL } from '../../clickhouse/access-model.ts';
import { ADMIN_USER, INGEST_USER } from '../../clickhouse/tables.ts';
import { PORTS } from '../../stack/naming.ts';

/** Environment variables the server reads the users' password hashes from (set from Secrets). */
export const CLICKHOUSE_ENV = {
  adminPasswordSha256: 'CLICKHOUSE_ADMIN_PASSWORD_SHA256',
  ingestPasswordSha256: 'CLICKHOUSE_INGEST_PASSWORD_SHA256',
} as const;

/** Days ClickHouse keeps its own diagnostic logs (system.query_log and friends). */
export const SYSTEM_LOG_TTL_DAYS = 7;

/**
 * ClickHouse's own log tables, each either kept for SYSTEM_LOG_TTL_DAYS or switched off.
 * Adding `<ttl>` to an element the image's config.xml lacks would switch that log on, so
 * logs the image leaves off stay off here too.
 */
export const SYSTEM_LOG_TABLES = {
  query_log: 'ttl',
  query_thread_log: 'ttl',
  query_views_log: 'ttl',
  query_metric_log: 'ttl',
  part_log: 'ttl',
  trace_log: 'ttl',
  metric_log: 'ttl',
  asynchronous_metric_log: 'ttl',
  text_log: 'ttl',
  processors_profile_log: 'ttl',
  error_log: 'ttl',
  latency_log: 'ttl',
  blob_storage_log: 'ttl',
  backup_log: 'ttl',
  s3queue_log: 'ttl',
  asynchronous_insert_log: 'ttl',
  // The image defines it with a full <engine> (and finish_date, not event_date); a <ttl>
  // beside an <engine> is rejected. Nothing here traces ClickHouse queries: off.
  opentelemetry_span_log: 'remove',
  // Off in the image ("known security issues"); removing keeps it off explicitly.
  session_log: 'remove',
  // Only written with a ZooKeeper/Keeper, which a single node does not have.
  zookeeper_log: 'remove',
} as const satisfies Record<string, 'ttl' | 'remove'>;

/** Where the two files are mounted, and their keys in the ConfigMap. */
export const CLICKHOUSE_PATHS = {
  configFile: '/etc/clickhouse-server/config.xml',
  configDir: '/etc/clickhouse-server/config.d',
  usersDir: '/etc/clickhouse-server/users.d',
  fileName: 'telemetry-stack.xml',
  dataDir: '/var/lib/clickhouse',
  accessDir: '/var/lib/clickhouse/access/',
  logDir: '/var/log/clickhouse-server',
} as const;

export const CONFIG_MAP_KEYS = {
  server: 'server.xml',
  users: 'users.xml',
} as const;

// ---------------------------------------------------------------- a tiny XML writer

type Attributes = Readonly<Record<string, string>>;
type XmlNode =
  | { readonly element: string; readonly attributes?: Attributes; readonly children?: readonly XmlNode[] | string }
  | { readonly comment: string };

const el = (element: string, children?: readonly XmlNode[] | string | number, attributes?: Attributes): XmlNode => ({
  element,
  ...(attributes ? { attributes } : {}),
  ...(children === undefined ? {} : { children: typeof children === 'number' ? String(children) : children }),
});
const comment = (text: string): XmlNode => ({ comment: text });
/** Deletes the image's element of this name (no-op when it has none). */
const removed = (element: string): XmlNode => el(element, undefined, { remove: '1' });

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function render(node: XmlNode, depth: number): string {
  const indent = '    '.repeat(depth);
  if ('comment' in node) {
    if (node.comment.includes('--')) throw new Error(`XML comment must not contain "--": ${node.comment}`);
    return `${indent}<!-- ${node.comment} -->\n`;
  }
  const attributes = Object.entries(node.attributes ?? {})
    .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
    .join('');
  const open = `${indent}<${node.element}${attributes}`;
  if (node.children === undefined || node.children.length === 0) return `${open}/>\n`;
  if (typeof node.children === 'string') return `${open}>${escapeXml(node.children)}</${node.element}>\n`;
  return `${open}>\n${node.children.map((child) => render(child, depth + 1)).join('')}${indent}</${node.element}>\n`;
}

function document(purpose: string, children: readonly XmlNode[]): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<!-- Rendered by telemetry-stack from the TelemetryStack: ${purpose}. Edits are overwritten. -->\n` +
    render(el('clickhouse', children), 0)
  );
}

const backquote = (identifier: string) => `\`${identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;

// ---------------------------------------------------------------- config.d

function systemLogs(): XmlNode[] {
  return Object.entries(SYSTEM_LOG_TABLES).map(([table, policy]) =>
    policy === 'remove'
      ? removed(table)
      : el(table, [
          el('ttl', `event_date + INTERVAL ${SYSTEM_LOG_TTL_DAYS} DAY DELETE`),
          // text_log copies the server log into a table; the image keeps it at trace level.
          ...(table === 'text_log' ? [el('level', 'information')] : []),
        ]),
  );
}

/**
 * Server settings (config.d). The stack is taken so that callers need not know which
 * settings depend on it; today none does.
 */
export function serverConfigXml(_stack: TelemetryStack): string {
  return document('server settings, merged over the image\'s config.xml', [
    comment('The root filesystem is read-only: log to the console only, at information level.'),
    el('logger', [el('level', 'information'), el('console', 1), removed('log'), removed('errorlog')]),

    comment('IPv4 only: kind and many clusters have no IPv6 in pods, and "::" fails there.'),
    el('listen_host', '0.0.0.0'),
    el('http_port', PORTS.clickhouseHttp),
    el('tcp_port', PORTS.clickhouseNative),
    comment('A single node needs no replication port, and no one speaks MySQL or PostgreSQL to it.'),
    removed('interserver_http_port'),
    removed('mysql_port'),
    removed('postgresql_port'),

    comment('Share of the container memory limit (ClickHouse reads the cgroup limit) queries and caches may use.'),
    el('max_server_memory_usage_to_ram_ratio', '0.8'),

    comment('Telemetry about prompts and code stays in the cluster: no crash reports to clickhouse.com.'),
    el('send_crash_reports', [el('enabled', 'false')]),

    comment('Users from users.xml/users.d (the admin and the ingest user) and SQL-created users and roles, kept on the data volume.'),
    el(
      'user_directories',
      [
        el('users_xml', [el('path', 'users.xml')]),
        el('local_directory', [el('path', CLICKHOUSE_PATHS.accessDir)]),
      ],
      { replace: '1' },
    ),

    comment(`ClickHouse's own logs: kept ${SYSTEM_LOG_TTL_DAYS} days so they cannot fill the data volume.`),
    ...systemLogs(),
  ]);
}

// ---------------------------------------------------------------- users.d

const anyNetwork = el('networks', [el('ip', '::/0')]);

/**
 * The grants of the insert-only user the collector's exporter authenticates as: the ingest
 * role of ACCESS_MODEL (INSERT and SHOW COLUMNS on the raw tables only), the same grants the
 * operator gives it in an external ClickHouse.
 */
export function ingestGrants(stack: TelemetryStack): string[] {
  const byTable = new Map<string, string[]>();
  for (const grant of ACCESS_MODEL.ingest.grants) byTable.set(grant.table, [...(byTable.get(grant.table) ?? []), grant.access]);
  return [...byTable].map(([table, access]) => `GRANT ${access.join(', ')} ON ${backquote(stack.spec.clickhouse.database)}.${backquote(table)}`);
}

/** Users (users.d): removes the image's passwordless `default` user and defines ours. */
export function usersConfigXml(stack: TelemetryStack): string {
  return document('users, merged over the image\'s users.xml', [
    el('users', [
      comment('The image ships "default" with no password and access from anywhere.'),
      removed('default'),

      comment('The operator: migrations, users, roles and row policies. May grant everything it holds.'),
      el(ADMIN_USER, [
        el('password_sha256_hex', undefined, { from_env: CLICKHOUSE_ENV.adminPasswordSha256 }),
        anyNetwork,
        el('profile', 'default'),
        el('quota', 'default'),
        el('access_management', 1),
        // Without these two, GRANT ALL ... WITH GRANT OPTION is refused even with access_management.
        el('named_collection_control', 1),
        el('show_named_collections_secrets', 1),
      ]),

      comment('The collector: insert-only. `grants` cannot be combined with access_management.'),
      el(INGEST_USER, [
        el('password_sha256_hex', undefined, { from_env: CLICKHOUSE_ENV.ingestPasswordSha256 }),
        anyNetwork,
        el('profile', 'default'),
        el('quota', 'default'),
        el('grants', ingestGrants(stack).map((query) => el('query', query))),
      ]),
    ]),
  ]);
}
