/**
 * TelemetryStack spec: the single source of truth. The CRD's openAPIV3Schema and the
 * editor JSON schema are generated from these zod schemas (src/api/crd.ts); every field
 * carries a description (it becomes `kubectl explain` text) and an explicit default, so
 * that `spec: {}` is a working local stack.
 */
import { z } from 'zod';
import { RE2JS } from 're2js';
import { DEFAULT_IMAGES } from '../versions.ts';
import { MAX_USER_NAME_LENGTH } from './constants.ts';
import { withRules } from './cross-field.ts';
import { PRESET_NAMES } from './presets.ts';
import { schedulingFields } from './scheduling.ts';
import { GRAFANA_IMAGE_PLUGINS_DIR } from './constants.ts';
import { canMatchEmpty, hasLoneSurrogate } from './pattern-checks.ts';
import { GiB, MiB, parseQuantity, QUANTITY_PATTERN } from './quantity.ts';
import { MAX_REQUEST_BYTES, MIN_QUEUED_REQUESTS, minimumQueueVolumeMiB } from './collector-limits.ts';

// ---------------------------------------------------------------- building blocks

/**
 * Marks a field whose default the CRD documents but does not declare: the API server
 * would persist it into every object, freezing stacks on the default of the release
 * that created them. zod (and so the operator) still applies it.
 */
export const OPERATOR_DEFAULT = 'x-telemetrystack-operator-default';

const quantity = (what: string, min?: { bytes: number; label: string }) =>
  z
    .string()
    .max(32)
    .regex(QUANTITY_PATTERN, {
      message: `must be a Kubernetes quantity such as "500m", "512Mi" or "10Gi" (${what})`,
    })
    // An unparsable quantity is already reported by the pattern above; report it once.
    .refine((text) => min === undefined || (parseQuantity(text) ?? Infinity) >= min.bytes, {
      message: `must be at least ${min?.label ?? ''} (${what})`,
    });

const image = (fallback: string, what: string) =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, { message: 'must be an image reference such as "repo/name:tag"' })
    .default(fallback)
    .meta({
      description: `Container image for ${what}. Default: ${fallback}, the version this release pins, applied at reconcile time so that an upgrade brings the new default. Set it to use a mirror or to hold a version.`,
      [OPERATOR_DEFAULT]: true,
    });

const pullPolicy = z
  .enum(['IfNotPresent', 'Always', 'Never'])
  .default('IfNotPresent')
  .describe('Image pull policy. IfNotPresent suits pinned tags and images loaded into kind.');

const storageClassName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'must be a StorageClass name (DNS subdomain)' })
  .optional()
  .describe('StorageClass for the volume. Unset uses the cluster default StorageClass.');

const secretName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'must be a Secret name (DNS subdomain)' });

const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, { message: 'must be a Secret data key (letters, digits, "-", "_", ".")' });

interface ResourceDefaults {
  requests: { cpu: string; memory: string };
  limits: { cpu?: string; memory: string };
}

const RESOURCE_PAIRS = ['cpu', 'memory'] as const;

/** Container resources with Kubernetes' own rule (requests <= limits) checked before apply. */
function resources(what: string, defaults: ResourceDefaults) {
  const amounts = (kind: string) =>
    z
      .object({
        cpu: quantity(`${kind} cpu`).optional().describe(`CPU ${kind}, e.g. "250m".`),
        memory: quantity(`${kind} memory`, { bytes: 16 * MiB, label: '16Mi' })
          .optional()
          .describe(`Memory ${kind}, e.g. "512Mi".`),
      })
      .strict();
  return withRules(
    z
      .object({
        requests: amounts('request')
          .default(defaults.requests)
          .describe('Resources the scheduler reserves for the container.'),
        limits: amounts('limit')
          .default(defaults.limits)
          .describe('Hard ceilings; the memory limit also sizes the collector memory limiter.'),
      })
      .strict(),
    RESOURCE_PAIRS.map((resource) => ({
      cel:
        `!has(self.requests.${resource}) || !has(self.limits.${resource}) || ` +
        `quantity(self.requests.${resource}).compareTo(quantity(self.limits.${resource})) <= 0`,
      holds: (value: { requests: Partial<Record<string, string>>; limits: Partial<Record<string, string>> }) => {
        const request = value.requests[resource];
        const limit = value.limits[resource];
        return request === undefined || limit === undefined || parseQuantity(request)! <= parseQuantity(limit)!;
      },
      message: `requests.${resource} must not exceed limits.${resource}`,
      path: ['requests', resource],
    })),
  )
    .prefault({})
    .describe(`Requests and limits for ${what}. Requests and limits default separately: setting only limits keeps the default requests.`);
}

// ---------------------------------------------------------------- collector

/** Smallest persistent queue volume (MiB) for the ClickHouse exporter alone and with the upstream exporter too. */
const MIN_QUEUE_VOLUME_MIB = { clickhouse: minimumQueueVolumeMiB(1), withUpstream: minimumQueueVolumeMiB(2) } as const;

const nodePort = (fallback: number, what: string) =>
  z
    .number()
    .int()
    .min(30000)
    .max(32767)
    .default(fallback)
    .describe(`Node port for ${what} when the service type is NodePort (30000-32767).`);

export const CollectorService = withRules(
  z
    .object({
      type: z
        .enum(['ClusterIP', 'NodePort'])
        .default('ClusterIP')
        .describe(
          'ClusterIP keeps OTLP inside the cluster (use a port-forward or an ingress). NodePort exposes fixed node ports, which the kind config maps to the host.',
        ),
      nodePorts: z
        .object({
          otlpGrpc: nodePort(30317, 'OTLP gRPC (container port 4317)'),
          otlpHttp: nodePort(30318, 'OTLP HTTP (container port 4318)'),
        })
        .strict()
        .prefault({})
        .describe('Fixed node ports, used only when type is NodePort.'),
    })
    .strict(),
  [
    {
      cel: 'self.nodePorts.otlpGrpc != self.nodePorts.otlpHttp',
      holds: (s) => s.nodePorts.otlpGrpc !== s.nodePorts.otlpHttp,
      message: 'nodePorts.otlpGrpc and nodePorts.otlpHttp must differ',
      path: ['nodePorts', 'otlpHttp'],
    },
  ],
)
  .prefault({})
  .describe('How OTLP clients reach the collector.');

export const Collector = z
  .object({
    image: image(DEFAULT_IMAGES.collector, 'the OpenTelemetry Collector (contrib distribution)'),
    imagePullPolicy: pullPolicy,
    ...schedulingFields('the collector pods'),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(1)
      .describe('Collector replicas. Each replica keeps its own persistent queue volume.'),
    resources: resources('each collector pod', {
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    }),
    service: CollectorService,
    tls: z
      .object({
        secretName: secretName.describe(
          'Secret in the stack\'s namespace with the certificate (tls.crt, with any intermediates) and key (tls.key): a kubernetes.io/tls Secret, as cert-manager writes it. Renewals are picked up without a restart.',
        ),
      })
      .strict()
      .optional()
      .describe(
        'Serve OTLP (gRPC and HTTP) over TLS. Without it the receivers speak plain text, and each client\'s credential crosses the network readable: use it whenever clients reach the collector over a network you do not control.',
      ),
    persistentQueue: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Keep the export queue on a volume so that a ClickHouse outage or a collector restart loses nothing. Turn off only for throwaway stacks.',
          ),
        // The smallest size depends on whether upstream is set: a rule on the spec checks it.
        size: quantity('persistent queue volume')
          .default('2Gi')
          .describe(
            `Size of each replica's queue volume: at least ${MIN_QUEUE_VOLUME_MIB.clickhouse}Mi, ${MIN_QUEUE_VOLUME_MIB.withUpstream}Mi with upstream. The queue accepts data up to a share of it in bytes, keeping room for the filesystem and for compaction; beyond that, clients are asked to retry.`,
          ),
        storageClassName,
      })
      .strict()
      .prefault({})
      .describe('Write-ahead queue between the pipeline and ClickHouse.'),
  })
  .strict()
  .prefault({})
  .describe('The OpenTelemetry Collector that receives OTLP, authenticates, sanitizes and writes to ClickHouse.');

// ---------------------------------------------------------------- clickhouse

/**
 * A rule for a field where "$" has no business (endpoints). The chart escapes every value it
 * writes into the collector configuration (src/sanitizer/confmap.ts), so "${env:...}" could not
 * expand anyway; refusing it says so at apply time instead of leaving an endpoint that cannot work.
 */
function withoutDollar<T extends Record<string, unknown>>(field: keyof T & string, what: string) {
  return {
    cel: `!self.${field}.contains('$')`,
    holds: (value: T) => !String(value[field]).includes('$'),
    message: `${field} must not contain "$": write ${what} literally (the collector reads "\${...}" as a reference to its environment, such as the ingest password)`,
    path: [field],
  };
}

export const ExternalClickHouse = withRules(z
  .object({
    endpoint: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/:@]+(:\d{1,5})?\/?$/, {
        message: 'must be the HTTP(S) endpoint of the ClickHouse server, e.g. "https://clickhouse.example.internal:8443"',
      })
      .describe('HTTP(S) endpoint of the external ClickHouse (scheme, host and port only).'),
    credentialsSecret: z
      .object({
        name: secretName.describe('Name of a Secret in the stack\'s namespace, labelled telemetrystack.io/referenceable=true by whoever may write it (otherwise the stack is not applied).'),
        usernameKey: secretKey.default('username').describe('Key holding the user name.'),
        passwordKey: secretKey.default('password').describe('Key holding the password.'),
      })
      .strict()
      .describe(
        'Secret with an administrative ClickHouse user (able to create databases, tables, views with SQL SECURITY DEFINER, users, roles, row policies and settings profiles; ClickHouse 24.4 or later). The views run with its rights, so keep this account. Never put credentials in the TelemetryStack itself.',
      ),
    cluster: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { message: 'must be a ClickHouse cluster name (letters, digits, "_", "-")' })
      .optional()
      .describe('ClickHouse cluster name. When set, DDL runs ON CLUSTER and tables use Replicated engines.'),
  })
  .strict(), [withoutDollar('endpoint', 'the ClickHouse endpoint')])
  .describe('Connection to a ClickHouse the team already runs (mode: external).');

export const ClickHouse = withRules(
  z
    .object({
      mode: z
        .enum(['inCluster', 'external'])
        .default('inCluster')
        .describe('inCluster runs a single-node ClickHouse StatefulSet in the stack\'s namespace; external uses an existing server or cluster.'),
      image: image(DEFAULT_IMAGES.clickhouse, 'the in-cluster ClickHouse server (an LTS release)'),
      imagePullPolicy: pullPolicy,
      ...schedulingFields('the ClickHouse pod (inCluster mode)'),
      database: z
        .string()
        .min(1)
        .max(63)
        .regex(/^[a-z_][a-z0-9_]*$/, { message: 'must be a lower-case ClickHouse identifier (letters, digits, "_")' })
        .default('claude_code')
        .describe('Database that holds the telemetry tables.'),
      storage: z
        .object({
          size: quantity('ClickHouse data volume', { bytes: GiB, label: '1Gi' })
            .default('20Gi')
            .describe('Size of the ClickHouse data volume.'),
          storageClassName,
        })
        .strict()
        .prefault({})
        .describe('Persistent volume for ClickHouse data (inCluster mode).'),
      resources: resources('the ClickHouse pod', {
        requests: { cpu: '250m', memory: '1Gi' },
        limits: { memory: '2Gi' },
      }),
      service: z
        .object({
          type: z
            .enum(['ClusterIP', 'NodePort'])
            .default('ClusterIP')
            .describe(
              "ClusterIP: queries go through a port-forward (telemetry-stack query and report open one). NodePort also publishes ClickHouse's HTTP interface on a fixed node port, which the kind config maps to 127.0.0.1:30123, for SQL clients and dashboards on the laptop; every query still logs in as a stack user, so row policies apply.",
            ),
          nodePort: nodePort(30123, 'ClickHouse HTTP (container port 8123)'),
        })
        .strict()
        .prefault({})
        .describe("How clients outside the cluster reach ClickHouse's HTTP interface (inCluster mode)."),
      external: ExternalClickHouse.optional(),
    })
    .strict(),
  [
    {
      cel: "self.mode != 'external' || has(self.external)",
      holds: (c) => c.mode !== 'external' || c.external !== undefined,
      message: 'clickhouse.external (endpoint and credentialsSecret) is required when mode is external',
      path: ['external'],
    },
    {
      cel: "self.mode == 'external' || !has(self.external)",
      holds: (c) => c.mode === 'external' || c.external === undefined,
      message: 'clickhouse.external is only used with mode: external; remove it or set mode: external',
      path: ['external'],
    },
  ],
)
  .prefault({})
  .describe('Where telemetry is stored.');

// ---------------------------------------------------------------- retention

const days = (fallback: number, max: number, what: string) =>
  z.number().int().min(1).max(max).default(fallback).describe(`${what} (days, 1-${max}).`);

export const Retention = withRules(
  z
    .object({
      eventsDays: days(90, 3650, 'How long raw events (log records: prompts, API requests, tool results) are kept'),
      metricsDays: days(90, 3650, 'How long raw metric points are kept'),
      rollupsDays: days(
        730,
        36500,
        'How long the daily cost and token rollups are kept; they outlive raw data so monthly reports keep working',
      ),
      maxDiskGiB: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .optional()
        .describe('Optional disk cap in GiB: when telemetry tables exceed it, the oldest daily partitions are dropped first.'),
    })
    .strict(),
  [
    {
      cel: 'self.rollupsDays >= self.eventsDays && self.rollupsDays >= self.metricsDays',
      holds: (r) => r.rollupsDays >= r.eventsDays && r.rollupsDays >= r.metricsDays,
      message: 'rollupsDays must be at least eventsDays and metricsDays: rollups are meant to outlive raw data',
      path: ['rollupsDays'],
    },
  ],
)
  .prefault({})
  .describe('How long data is kept. Changing these on a running stack changes the TTLs in place.');

// ---------------------------------------------------------------- sanitizer

export const RULE_ACTIONS = ['redact', 'hash', 'drop'] as const;
export const RULE_TARGETS = ['body', 'attributes', 'resourceAttributes', 'metricAttributes'] as const;

/** RE2 is what the collector's regexp engine accepts; re2js implements the same syntax. */
function re2Problem(pattern: string): string | undefined {
  if (hasLoneSurrogate(pattern)) return 'holds a lone UTF-16 surrogate (half of a character), which the collector configuration cannot carry; write the whole character or a \\x{...} escape';
  try {
    RE2JS.compile(pattern);
    if (canMatchEmpty(pattern)) {
      return 'can match an empty string (e.g. "\\b", "^", "x*" or an empty alternative), so it would write its marker between the characters of every value; make every match consume at least one character, e.g. "\\bsecret\\b" instead of "\\b"';
    }
    return undefined;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    // The usual cause is PCRE habit: look-around, back-references, possessive quantifiers.
    const hint = /Perl syntax|named capture|escape sequence|nested repetition/.test(detail)
      ? ' (RE2 has no look-around, back-references or possessive quantifiers)'
      : '';
    return `is not a valid RE2 pattern${hint}: ${detail}`;
  }
}

export const SanitizerRule = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be lower-case letters, digits and "-" (it appears in [REDACTED:<name>])' })
      .refine((name) => !(PRESET_NAMES as readonly string[]).includes(name), {
        message: 'is the name of a built-in preset; choose another name',
      })
      .describe('Rule name; appears in replacements as [REDACTED:<name>].'),
    pattern: z
      .string()
      .min(1)
      .max(4096)
      .describe('RE2 regular expression (the collector\'s syntax: no look-around, no back-references).'),
    action: z
      .enum(RULE_ACTIONS)
      .default('redact')
      .describe('redact replaces the match with [REDACTED:<name>]; hash replaces it with a keyed hash (same input, same output, not reversible by dictionary); drop removes an attribute whose value matches (one Claude Code is not known to send, and a log body, is replaced by [DROPPED:<name>] instead). See docs/PRIVACY.md.'),
    targets: z
      .array(z.enum(RULE_TARGETS))
      .min(1)
      .max(RULE_TARGETS.length)
      .default([...RULE_TARGETS])
      .meta({ 'x-kubernetes-list-type': 'set' })
      .describe('Where the rule applies: log body, log attributes (including JSON-encoded values such as tool_parameters), resource attributes, metric data-point attributes.'),
  })
  .strict()
  // On the rule rather than the pattern, so the message can name the rule.
  .superRefine((rule, ctx) => {
    const problem = re2Problem(rule.pattern);
    if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `rule "${rule.name}": pattern ${problem}` });
  })
  .describe('A custom sanitizer rule.');

export const Sanitizer = z
  .object({
    disabledPresets: z
      .array(z.enum(PRESET_NAMES))
      .max(PRESET_NAMES.length)
      .default([])
      .meta({ 'x-kubernetes-list-type': 'set' })
      .describe(`Built-in presets to turn off. All presets are on by default: ${PRESET_NAMES.join(', ')}.`),
    rules: z
      .array(SanitizerRule)
      .max(100)
      .default([])
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
      .superRefine((rules, ctx) => duplicateNames(rules, ctx, 'rule'))
      .describe('Custom rules, applied after the presets, in order.'),
  })
  .strict()
  .prefault({})
  .describe('What is removed or hashed before anything is stored. Runs in the collector, before batching and export.');

// ---------------------------------------------------------------- access

export const ROLES = ['viewer', 'contributor', 'coordinator', 'admin'] as const;

/** A user name: it becomes a ClickHouse user name and part of a Secret name. */
export const USER_NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

export const User = z
  .object({
    name: z
      .string()
      .min(1)
      .max(MAX_USER_NAME_LENGTH)
      .regex(USER_NAME_PATTERN, {
        message: 'must start with a letter and contain only lower-case letters, digits and "-" (it becomes a ClickHouse user and a Secret name)',
      })
      .describe('User name: the identity stamped on every record this user sends, their ClickHouse user, and part of their Secret name.'),
    role: z
      .enum(ROLES)
      .default('contributor')
      .describe('viewer: team-wide aggregates; contributor: own rows only; coordinator: all rows; admin: all rows and administration.'),
    subject: z
      .object({
        kind: z.enum(['User', 'Group']).describe('Kubernetes RBAC subject kind.'),
        name: z.string().min(1).max(253).describe('Kubernetes user or group name.'),
      })
      .strict()
      .optional()
      .describe('Kubernetes subject allowed to read this user\'s credential Secret (and no other).'),
  })
  .strict()
  .describe('A team member.');

export const Access = withRules(
  z
    .object({
      users: z
        .array(User)
        .max(500)
        .default([{ name: 'owner', role: 'admin' }])
        .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
        .superRefine((users, ctx) => duplicateNames(users, ctx, 'user'))
        .describe('Team members. Each gets generated ingestion and query credentials in a Secret of their own.'),
      allowAnonymousIngestion: z
        .boolean()
        .default(false)
        .describe('Accept OTLP without credentials (records are stamped "anonymous"). Off by default: ingestion requires per-user credentials.'),
    })
    .strict(),
  [
    {
      cel: 'self.allowAnonymousIngestion || size(self.users) > 0',
      holds: (a) => a.allowAnonymousIngestion || a.users.length > 0,
      message: 'no users and anonymous ingestion is off, so nobody could send telemetry: add a user or set allowAnonymousIngestion: true',
      path: ['users'],
    },
  ],
)
  .prefault({})
  .describe('Who may send telemetry and who may read it.');

// ---------------------------------------------------------------- upstream

/**
 * gRPC addresses a host and port only; a URL path (valid for OTLP/HTTP) makes the collector's gRPC
 * exporter refuse the configuration. The host may not hold ":" and a port must have digits, so the
 * scheme of "https://host:4317" is not read as a host followed by a path.
 */
const GRPC_ENDPOINT_WITH_PATH = '^(https?://)?[^/:]+(:[0-9]+)?/';

export const Upstream = withRules(
  z
    .object({
      endpoint: z
        .string()
        .max(2048)
        .regex(/^(https?:\/\/)?[^\s/:@]+(:\d{1,5})?(\/[^\s]*)?$/, {
          message: 'must be an OTLP endpoint such as "https://telemetry.example.internal:4318" or "telemetry.example.internal:4317"',
        })
        .describe('OTLP endpoint of the central stack: host:port for gRPC, a URL for HTTP.'),
      protocol: z.enum(['grpc', 'http']).default('grpc').describe('OTLP transport to the central stack.'),
      insecure: z
        .boolean()
        .default(false)
        .describe(
          'Send without TLS, in plain text (the Authorization header too). Required for an http:// endpoint or a plaintext gRPC one; only for a central stack inside a trusted network.',
        ),
      caSecret: z
        .object({
          name: secretName.describe("Secret in the stack's namespace."),
          key: secretKey.default('ca.crt').describe('Key holding the PEM certificate(s) of the certificate authority.'),
        })
        .strict()
        .optional()
        .describe(
          "Certificate authority that signed the central stack's certificate, when it is not one the system trusts (e.g. a cert-manager CA Issuer: its Secrets carry ca.crt).",
        ),
      headersSecret: z
        .object({
          name: secretName.describe('Secret in the stack\'s namespace, labelled telemetrystack.io/referenceable=true by whoever may write it (otherwise the stack is not applied).'),
          key: secretKey.default('authorization').describe('Key whose value is sent as the Authorization header.'),
        })
        .strict()
        .optional()
        .describe('Credentials for the central stack (e.g. "Basic <base64>"), read from a Secret.'),
    })
    .strict(),
  [
    {
      cel: `self.protocol != 'grpc' || !self.endpoint.matches('${GRPC_ENDPOINT_WITH_PATH}')`,
      holds: (u) => u.protocol !== 'grpc' || !new RegExp(GRPC_ENDPOINT_WITH_PATH).test(u.endpoint),
      message: 'endpoint must be host:port without a path when protocol is grpc (a path such as /otlp is only valid with protocol: http)',
      path: ['endpoint'],
    },
    {
      // The OTLP/HTTP exporter reads "host:4318" as a URL whose scheme is the host: with an IP address
      // the collector refuses to start, with a name it retries for ever and sends nothing.
      cel: "self.protocol != 'http' || self.endpoint.startsWith('https://') || self.endpoint.startsWith('http://')",
      holds: (u) => u.protocol !== 'http' || u.endpoint.startsWith('https://') || u.endpoint.startsWith('http://'),
      message: 'endpoint must be a URL with its scheme when protocol is http, e.g. "https://central.example.com:4318" (host:port alone is the gRPC form)',
      path: ['endpoint'],
    },
    {
      cel: "self.insecure || !self.endpoint.startsWith('http://')",
      holds: (u) => u.insecure || !u.endpoint.startsWith('http://'),
      message:
        'endpoint is http://, which sends telemetry and the Authorization header in plain text: use https://, or set upstream.insecure: true for a central stack inside a trusted network',
      path: ['endpoint'],
    },
    {
      cel: "!self.insecure || !self.endpoint.startsWith('https://')",
      holds: (u) => !u.insecure || !u.endpoint.startsWith('https://'),
      message: 'insecure: true contradicts an https:// endpoint (the collector would use TLS anyway): remove insecure, or use http:// for plain text',
      path: ['insecure'],
    },
    {
      cel: '!self.insecure || !has(self.caSecret)',
      holds: (u) => !u.insecure || u.caSecret === undefined,
      message: 'caSecret is only used with TLS: remove it, or remove insecure: true',
      path: ['caSecret'],
    },
    withoutDollar('endpoint', 'the upstream endpoint'),
  ],
)
  .describe('Also forward sanitized telemetry to a central team stack: the path from a laptop stack to a shared one.');

// ---------------------------------------------------------------- grafana

export const Grafana = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe('Run Grafana with the ClickHouse data source (read-only user) and the dashboards generated from queries/*.sql: spend, tokens and cache, adoption, tools and errors.'),
    image: image(DEFAULT_IMAGES.grafana, 'Grafana (with plugins: download, the ClickHouse data source plugin is fetched from grafana.com at each start; with plugins: image, the image must hold it)'),
    plugins: z
      .enum(['download', 'image'])
      .default('download')
      .describe(
        `Where the ClickHouse data source plugin comes from. download: fetched from grafana.com when the pod starts (the pod needs that network). image: already in the image under ${GRAFANA_IMAGE_PLUGINS_DIR}, so Grafana starts without any network once the image is pulled; docs/OPERATIONS.md shows the two-line Dockerfile.`,
      ),
    imagePullPolicy: pullPolicy,
    ...schedulingFields('the Grafana pod'),
    resources: resources('the Grafana pod', {
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    }),
  })
  .strict()
  .prefault({})
  .describe('Optional dashboards. Reach Grafana with "kubectl port-forward svc/<stack>-grafana 3000"; the admin password is in the <stack>-grafana Secret.');

// ---------------------------------------------------------------- spec

export const LEVELS = ['basic', 'enhanced', 'full'] as const;

function duplicateNames(items: readonly { name: string }[], ctx: z.RefinementCtx, what: string) {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) {
      ctx.addIssue({ code: 'custom', message: `duplicate ${what} name "${item.name}"; names must be unique`, path: [index, 'name'] });
    }
    seen.add(item.name);
  });
}

export const TelemetryStackSpec = withRules(
  z
    .object({
      level: z
        .enum(LEVELS)
        .default('enhanced')
        .describe('What is collected at all. basic: metrics only; enhanced: metrics and events without free text (prompts, responses, tool input, error text); full: everything, sanitized. See docs/PRIVACY.md.'),
      collector: Collector,
      clickhouse: ClickHouse,
      retention: Retention,
      sanitizer: Sanitizer,
      access: Access,
      upstream: Upstream.optional(),
      grafana: Grafana,
    })
    .strict(),
  [
    {
      cel:
        // Arithmetic, not quantity(string(...) + 'Gi'): the API server cannot bound the length of
        // string(int), so it estimates that rule's cost as unbounded and rejects the CRD.
        "!has(self.retention.maxDiskGiB) || self.clickhouse.mode != 'inCluster' || " +
        'double(self.retention.maxDiskGiB) * 1073741824.0 <= quantity(self.clickhouse.storage.size).asApproximateFloat()',
      holds: (s) =>
        s.retention.maxDiskGiB === undefined ||
        s.clickhouse.mode !== 'inCluster' ||
        s.retention.maxDiskGiB * GiB <= parseQuantity(s.clickhouse.storage.size)!,
      message: 'retention.maxDiskGiB must fit in clickhouse.storage.size (the cap must leave the volume room to merge)',
      path: ['retention', 'maxDiskGiB'],
    },
    {
      cel:
        "self.clickhouse.service.type != 'NodePort' || self.collector.service.type != 'NodePort' || " +
        '(self.clickhouse.service.nodePort != self.collector.service.nodePorts.otlpGrpc && self.clickhouse.service.nodePort != self.collector.service.nodePorts.otlpHttp)',
      holds: (s) =>
        s.clickhouse.service.type !== 'NodePort' ||
        s.collector.service.type !== 'NodePort' ||
        (s.clickhouse.service.nodePort !== s.collector.service.nodePorts.otlpGrpc && s.clickhouse.service.nodePort !== s.collector.service.nodePorts.otlpHttp),
      message: "clickhouse.service.nodePort must differ from the collector's node ports",
      path: ['clickhouse', 'service', 'nodePort'],
    },
    {
      cel:
        '!self.collector.persistentQueue.enabled || quantity(self.collector.persistentQueue.size).compareTo(' +
        `quantity(has(self.upstream) ? '${MIN_QUEUE_VOLUME_MIB.withUpstream}Mi' : '${MIN_QUEUE_VOLUME_MIB.clickhouse}Mi')) >= 0`,
      holds: (s) =>
        !s.collector.persistentQueue.enabled ||
        // An unparsable quantity is reported by its own pattern.
        (parseQuantity(s.collector.persistentQueue.size) ?? Infinity) >=
          (s.upstream ? MIN_QUEUE_VOLUME_MIB.withUpstream : MIN_QUEUE_VOLUME_MIB.clickhouse) * MiB,
      message:
        `collector.persistentQueue.size is too small: each queue must hold ${MIN_QUEUED_REQUESTS} requests of ${MAX_REQUEST_BYTES / MiB} MiB beside room for the filesystem and compaction; ` +
        `set it to at least ${MIN_QUEUE_VOLUME_MIB.clickhouse}Mi (${MIN_QUEUE_VOLUME_MIB.withUpstream}Mi with upstream)`,
      path: ['collector', 'persistentQueue', 'size'],
    },
  ],
).describe('Desired state of a team\'s telemetry stack. Every field has a default: an empty spec is a working local stack.');

export type TelemetryStackSpecInput = z.input<typeof TelemetryStackSpec>;
export type TelemetryStackSpec = z.output<typeof TelemetryStackSpec>;
export type SanitizerRule = z.output<typeof SanitizerRule>;
export type StackUser = z.output<typeof User>;
export type Level = (typeof LEVELS)[number];
export type Role = (typeof ROLES)[number];
