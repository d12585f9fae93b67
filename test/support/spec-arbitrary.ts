/**
 * fast-check generator of TelemetryStack specs, field by field after the zod schema in
 * src/api/spec.ts: every enum value, optional sections present or absent, and sanitizer rules
 * whose patterns and names carry the characters that need escaping on the way into a collector
 * configuration ($, ${...}, quotes, backslashes, %, braces). Candidates the schema rejects are
 * filtered out by the caller with validateStack, so the generator may be looser than the schema.
 */
import fc from 'fast-check';
import { LEVELS, RULE_ACTIONS, RULE_TARGETS, ROLES } from '../../src/api/spec.ts';
import { PRESET_NAMES } from '../../src/api/presets.ts';

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);

/** Pieces of RE2 patterns, many of them hostile to naive escaping. */
const PATTERN_PIECES = [
  '[a-z]+', '\\d{4}', 'tok_[A-Za-z0-9]{8,}', '\\$', '\\$\\{', '\\$\\{env:HOME\\}', '\\$HOME', '"', '\\\\', "'",
  '%s', '%d', '\\{', '\\}', '(?i)secret', 'a|b', '[$"]', '\\.', '\\s+', '\\b', '(?:x|y)+', '[^\\s"]+', ':', '=', '#', '/',
  '\\n', '\\x41', '\\p{L}', '^', '$', 'ü', '\\Q$x\\E',
];
const pattern = fc
  .array(fc.constantFrom(...PATTERN_PIECES), { minLength: 1, maxLength: 5 })
  .map((pieces) => `x${pieces.join('')}`);

const rule = fc.record(
  {
    name: word.map((w) => `rule-${w}`),
    pattern,
    action: fc.constantFrom(...RULE_ACTIONS),
    targets: fc.subarray([...RULE_TARGETS], { minLength: 1 }),
  },
  { requiredKeys: ['name', 'pattern'] },
);

const memory = fc.constantFrom('64Mi', '256Mi', '512Mi', '1Gi', '3Gi');

const collector = fc.record(
  {
    replicas: fc.integer({ min: 1, max: 5 }),
    resources: fc.record({ limits: fc.record({ memory }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    service: fc.record({ type: fc.constantFrom('ClusterIP', 'NodePort') }, { requiredKeys: [] }),
    persistentQueue: fc.record({ enabled: fc.boolean(), size: fc.constantFrom('110Mi', '2Gi') }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const clickhouse = fc.oneof(
  fc.record({ database: fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/) }, { requiredKeys: [] }),
  fc.record(
    {
      mode: fc.constant('external'),
      external: fc.record(
        {
          endpoint: fc.constantFrom('https://ch.example.internal:8443', 'http://clickhouse:8123', 'https://ch.example.com'),
          cluster: fc.constantFrom('telemetry', 'main_cluster'),
          credentialsSecret: fc.record({ name: fc.constantFrom('ch-admin') }),
        },
        { requiredKeys: ['endpoint', 'credentialsSecret'] },
      ),
    },
    { requiredKeys: ['mode', 'external'] },
  ),
);

const access = fc.record(
  {
    users: fc.uniqueArray(fc.record({ name: word, role: fc.constantFrom(...ROLES) }), {
      minLength: 1,
      maxLength: 4,
      selector: (user) => user.name,
    }),
    allowAnonymousIngestion: fc.boolean(),
  },
  { requiredKeys: [] },
);

const upstream = fc.record(
  {
    endpoint: fc.constantFrom('central.example.internal:4317', 'https://central.example.internal:4318', 'http://central:4318/otlp'),
    protocol: fc.constantFrom('grpc', 'http'),
    insecure: fc.boolean(),
    headersSecret: fc.record({ name: fc.constant('central-auth') }),
  },
  { requiredKeys: ['endpoint'] },
  // host:port is the gRPC form; OTLP/HTTP needs the URL (spec.upstream.endpoint's rule).
).map((u) => (u.protocol === 'http' && !/^https?:\/\//.test(u.endpoint) ? { ...u, endpoint: `https://${u.endpoint}` } : u));

export const specArbitrary = fc.record(
  {
    level: fc.constantFrom(...LEVELS),
    collector,
    clickhouse,
    sanitizer: fc.record(
      {
        disabledPresets: fc.subarray([...PRESET_NAMES]),
        rules: fc.uniqueArray(rule, { maxLength: 4, selector: (r) => r.name }),
      },
      { requiredKeys: [] },
    ),
    access,
    upstream,
  },
  { requiredKeys: [] },
);
