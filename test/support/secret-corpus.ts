/**
 * A secret scanner's kind of corpus, written for this project: credentials of many vendors in
 * their documented shapes (prefix, length, alphabet; bodies drawn from a seeded PRNG, so no
 * value here is a real credential and every run sees the same corpus), put into the syntaxes
 * code and config use (JSON, YAML, env, Makefile, PHP, Go, Java, XML, Kubernetes Secrets ...)
 * and carried the ways Claude Code sends them (a bash command or heredoc in tool_parameters, a
 * file written by Write, terminal output inside a raw API body, a user prompt). Beside them:
 * look-alikes that must not change (identifiers, package coordinates, references, placeholders)
 * and the values analysis reads, which must survive byte for byte.
 *
 * Used by test/sanitizer-recall.test.ts.
 */
import type { PlainRecord } from '../../harness/claude-code-client.ts';

// ------------------------------------------------------------------ randomness

/** mulberry32: small, seeded, good enough to spread characters over an alphabet. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  str(n: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  uuid(): string {
    return `${this.str(8, HEX)}-${this.str(4, HEX)}-4${this.str(3, HEX)}-a${this.str(3, HEX)}-${this.str(12, HEX)}`;
  }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const HEX = '0123456789abcdef';
const LETTERS = UPPER + LOWER;
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';
const BECH32 = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';

/** A random string that holds at least one digit (a body drawn from ALNUM may, rarely, hold none). */
function withDigit(r: Random, n: number, alphabet: string): string {
  const body = r.str(n - 1, alphabet);
  const at = r.int(0, n - 1);
  return body.slice(0, at) + r.str(1, DIGITS) + body.slice(at);
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const pemBody = (r: Random, lines: number) => Array.from({ length: lines }, () => r.str(64, B64));
const pem = (label: string, body: string[]) => [`-----BEGIN ${label}-----`, ...body, `-----END ${label}-----`].join('\n');

// ------------------------------------------------------------------ secret kinds

export interface Made {
  readonly value: string;
  /** The parts that must not survive; default: the value. */
  readonly sensitive?: readonly string[];
}

export interface SecretKind {
  readonly kind: string;
  /** Key-name stem as code spells it: "github" gives githubToken, github_token, GITHUB_TOKEN. */
  readonly stem: string;
  /** The shape alone identifies it (distinctive prefix or structure): it is also tried with no key name. */
  readonly bare: boolean;
  /** Spans lines: only tried in contexts that can hold several lines. */
  readonly multiline?: boolean;
  make(r: Random): Made;
}

const token = (kind: string, stem: string, make: (r: Random) => string, bare = true): SecretKind => ({ kind, stem, bare, make: (r) => ({ value: make(r) }) });

/** Documented shapes (vendor docs; the rule families of public secret scanners for the facts). */
export const SECRET_KINDS: readonly SecretKind[] = [
  // Source hosting and package registries.
  token('github-classic-pat', 'github', (r) => 'ghp_' + withDigit(r, 36, ALNUM)),
  token('github-oauth', 'github_oauth', (r) => 'gho_' + withDigit(r, 36, ALNUM)),
  token('github-app-installation', 'github_app', (r) => 'ghs_' + withDigit(r, 36, ALNUM)),
  token('github-refresh', 'github_refresh', (r) => 'ghr_' + withDigit(r, 36, ALNUM)),
  token('github-fine-grained-pat', 'gh', (r) => 'github_pat_' + withDigit(r, 22, ALNUM) + '_' + r.str(59, ALNUM)),
  token('gitlab-pat', 'gitlab', (r) => 'glpat-' + withDigit(r, 20, B64URL)),
  token('gitlab-pipeline-trigger', 'gitlab_trigger', (r) => 'glptt-' + r.str(40, HEX)),
  token('gitlab-runner', 'gitlab_runner', (r) => 'glrt-' + withDigit(r, 20, B64URL)),
  token('npm', 'npm', (r) => 'npm_' + withDigit(r, 36, ALNUM)),
  token('pypi', 'pypi', (r) => 'pypi-AgEIcHlwaS5vcmc' + r.str(70, B64URL)),
  token('rubygems', 'rubygems', (r) => 'rubygems_' + r.str(48, HEX)),
  token('docker-hub-pat', 'dockerhub', (r) => 'dckr_pat_' + withDigit(r, 27, B64URL)),
  token('sourcegraph', 'sourcegraph', (r) => 'sgp_' + r.str(16, HEX) + '_' + r.str(40, HEX)),
  token('sourcegraph-legacy', 'src_access', (r) => 'sgp_' + r.str(40, HEX)),
  token('postman', 'postman', (r) => 'PMAK-' + r.str(24, HEX) + '-' + r.str(34, HEX)),
  token('linear', 'linear', (r) => 'lin_api_' + withDigit(r, 40, ALNUM)),
  token('atlassian', 'jira', (r) => 'ATATT3' + r.str(180, B64URL) + '=' + r.str(8, HEX.toUpperCase())),
  token('figma', 'figma', (r) => 'figd_' + withDigit(r, 40, B64URL)),
  // Chat.
  token('slack-bot', 'slack', (r) => `xoxb-${r.str(11, DIGITS)}-${r.str(12, DIGITS)}-${withDigit(r, 24, ALNUM)}`),
  token('slack-user', 'slack_user', (r) => `xoxp-${r.str(11, DIGITS)}-${r.str(11, DIGITS)}-${r.str(12, DIGITS)}-${r.str(32, HEX)}`),
  token('slack-app', 'slack_app', (r) => `xapp-1-A${r.str(10, UPPER + DIGITS)}-${r.str(13, DIGITS)}-${r.str(64, HEX)}`),
  {
    kind: 'slack-webhook',
    stem: 'slack_webhook',
    bare: true,
    make: (r) => {
      const path = `T${r.str(8, UPPER + DIGITS)}/B${r.str(10, UPPER + DIGITS)}/${withDigit(r, 24, ALNUM)}`;
      return { value: `https://hooks.slack.com/services/${path}`, sensitive: [path] };
    },
  },
  {
    kind: 'teams-webhook',
    stem: 'teams_webhook',
    bare: true,
    make: (r) => {
      const path = `${r.uuid()}@${r.uuid()}/IncomingWebhook/${r.str(32, HEX)}/${r.uuid()}`;
      return { value: `https://${r.str(8, LOWER)}.webhook.office.com/webhookb2/${path}`, sensitive: [path.slice(0, 73), path.slice(90)] };
    },
  },
  {
    kind: 'discord-webhook',
    stem: 'discord_webhook',
    bare: true,
    make: (r) => {
      const secret = withDigit(r, 68, B64URL);
      return { value: `https://discord.com/api/webhooks/${r.str(19, DIGITS)}/${secret}`, sensitive: [secret] };
    },
  },
  {
    kind: 'telegram-bot',
    stem: 'telegram_bot',
    bare: true,
    make: (r) => {
      const id = String(r.int(100_000_000, 9_999_999_999));
      const secret = 'AA' + withDigit(r, 33, B64URL);
      // Both halves: the id alone is public, but "id:" left beside a removed secret tells which bot it was.
      return { value: `${id}:${secret}`, sensitive: [`${id}:`, secret] };
    },
  },
  token('discord-bot', 'discord_bot', (r) => `${b64(r.str(18, DIGITS))}.${r.str(6, B64URL)}.${withDigit(r, 38, B64URL)}`),
  // Payments and commerce.
  token('stripe-secret', 'stripe', (r) => 'sk_' + 'live_' + withDigit(r, 24, ALNUM)),
  token('stripe-restricted', 'stripe_restricted', (r) => 'rk_' + 'live_' + withDigit(r, 24, ALNUM)),
  token('shopify-access', 'shopify', (r) => 'shpat_' + r.str(32, HEX)),
  token('shopify-shared-secret', 'shopify_shared', (r) => 'shpss_' + r.str(32, HEX)),
  token('square', 'square', (r) => 'sq0atp-' + withDigit(r, 22, B64URL)),
  // Messaging and e-mail.
  token('twilio-api-key', 'twilio', (r) => 'SK' + r.str(32, HEX)),
  token('twilio-account-sid', 'twilio_account', (r) => 'AC' + r.str(32, HEX)),
  token('sendgrid', 'sendgrid', (r) => 'SG.' + withDigit(r, 22, B64URL) + '.' + r.str(43, B64URL)),
  token('mailgun', 'mailgun', (r) => 'key-' + r.str(32, HEX)),
  token('mailchimp', 'mailchimp', (r) => r.str(32, HEX) + '-us' + r.int(1, 21)),
  token('brevo', 'sendinblue', (r) => 'xkeysib-' + r.str(64, HEX) + '-' + withDigit(r, 16, ALNUM)),
  // Cloud.
  token('aws-access-key-id', 'aws_access', (r) => 'AKIA' + withDigit(r, 16, UPPER + DIGITS)),
  token('aws-secret-access-key', 'aws_secret', (r) => withDigit(r, 40, B64), false),
  {
    kind: 'gcp-service-account',
    stem: 'gcp_credentials',
    bare: true,
    multiline: true,
    make: (r) => {
      const body = pemBody(r, 6);
      const account = {
        type: 'service_account',
        project_id: `proj-${r.str(6, LOWER)}`,
        private_key_id: r.str(40, HEX),
        private_key: pem('PRIVATE KEY', body) + '\n',
        client_email: `ci-deployer@proj-${r.str(6, LOWER)}.iam.gserviceaccount.com`,
        client_id: r.str(21, DIGITS),
      };
      // private_key_id names the key; the key itself is the PEM body.
      return { value: JSON.stringify(account, null, 2), sensitive: body };
    },
  },
  token('google-api-key', 'google', (r) => 'AIza' + withDigit(r, 35, B64URL)),
  token('google-oauth-access', 'google_oauth', (r) => 'ya29.' + withDigit(r, 120, B64URL)),
  {
    kind: 'azure-storage-connection-string',
    stem: 'azure_storage',
    bare: true,
    make: (r) => {
      const key = withDigit(r, 86, B64) + '==';
      return { value: `DefaultEndpointsProtocol=https;AccountName=acme${r.str(4, LOWER)};AccountKey=${key};EndpointSuffix=core.windows.net`, sensitive: [key] };
    },
  },
  {
    kind: 'azure-service-bus',
    stem: 'azure_servicebus',
    bare: true,
    make: (r) => {
      const key = withDigit(r, 43, B64) + '=';
      return { value: `Endpoint=sb://acme-${r.str(4, LOWER)}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${key}`, sensitive: [key] };
    },
  },
  token('azure-ad-client-secret', 'azure_client', (r) => `${r.str(3, ALNUM)}${r.int(0, 9)}Q~${withDigit(r, 34, ALNUM + '_~.-')}`),
  token('digitalocean', 'digitalocean', (r) => 'dop_v1_' + r.str(64, HEX)),
  token('databricks', 'databricks', (r) => 'dapi' + r.str(32, HEX)),
  token('heroku', 'heroku', (r) => 'HRKU-AA' + withDigit(r, 58, B64URL)),
  token('planetscale', 'planetscale', (r) => 'pscale_tkn_' + withDigit(r, 43, B64URL)),
  token('pulumi', 'pulumi', (r) => 'pul-' + r.str(40, HEX)),
  token('grafana-service-account', 'grafana', (r) => 'glsa_' + withDigit(r, 32, ALNUM) + '_' + r.str(8, HEX)),
  token('grafana-cloud', 'grafana_cloud', (r) => 'glc_' + withDigit(r, 60, B64) + '=='),
  token('new-relic-user', 'newrelic', (r) => 'NRAK-' + withDigit(r, 27, UPPER + DIGITS)),
  token('sentry-user', 'sentry', (r) => 'sntryu_' + r.str(64, HEX)),
  token('doppler', 'doppler', (r) => 'dp.pt.' + withDigit(r, 43, ALNUM)),
  token('vault-service', 'vault', (r) => 'hvs.' + withDigit(r, 95, B64URL)),
  token('vault-batch', 'vault_batch', (r) => 'hvb.' + withDigit(r, 140, B64URL)),
  token('onepassword-service-account', 'op_service_account', (r) => 'ops_eyJ' + withDigit(r, 260, B64)),
  token('age-secret-key', 'age', (r) => 'AGE-SECRET-KEY-1' + r.str(58, BECH32)),
  // AI platforms.
  token('openai-project', 'openai', (r) => 'sk-proj-' + withDigit(r, 74, B64URL) + 'T3BlbkFJ' + r.str(74, B64URL)),
  token('openai-legacy', 'openai_legacy', (r) => 'sk-' + withDigit(r, 20, ALNUM) + 'T3BlbkFJ' + r.str(20, ALNUM)),
  token('anthropic-api', 'anthropic', (r) => 'sk-ant-api03-' + withDigit(r, 93, B64URL) + 'AA'),
  token('anthropic-admin', 'anthropic_admin', (r) => 'sk-ant-admin01-' + withDigit(r, 93, B64URL) + 'AA'),
  token('huggingface', 'huggingface', (r) => 'hf_' + r.str(34, LETTERS)),
  token('huggingface-org', 'hf_org', (r) => 'api_org_' + r.str(34, LETTERS)),
  token('notion', 'notion', (r) => 'ntn_' + r.str(11, DIGITS) + withDigit(r, 35, ALNUM)),
  token('notion-legacy', 'notion_integration', (r) => 'secret_' + withDigit(r, 43, ALNUM)),
  token('openrouter', 'openrouter', (r) => 'sk-or-v1-' + r.str(64, HEX)),
  token('groq', 'groq', (r) => 'gsk_' + withDigit(r, 52, ALNUM)),
  token('perplexity', 'perplexity', (r) => 'pplx-' + withDigit(r, 48, ALNUM)),
  token('replicate', 'replicate', (r) => 'r8_' + withDigit(r, 37, ALNUM)),
  token('langsmith', 'langsmith', (r) => 'lsv2_pt_' + r.str(32, HEX) + '_' + r.str(10, HEX)),
  token('xai', 'grok', (r) => 'xai-' + withDigit(r, 80, ALNUM)),
  // More developer, SaaS and cloud shapes.
  token('clojars', 'clojars', (r) => 'CLOJARS_' + withDigit(r, 60, LOWER + DIGITS)),
  token('readme', 'readme', (r) => 'rdme_' + withDigit(r, 70, LOWER + DIGITS)),
  token('prefect', 'prefect', (r) => 'pnu_' + withDigit(r, 36, ALNUM)),
  token('terraform-cloud', 'tfe', (r) => r.str(14, LOWER + DIGITS) + '.atlasv1.' + withDigit(r, 67, B64URL)),
  token('harness', 'harness', (r) => `pat.${r.str(22, B64URL)}.${withDigit(r, 24, ALNUM)}.${r.str(20, ALNUM)}`),
  token('octopus-deploy', 'octopus', (r) => 'API-' + withDigit(r, 26, UPPER + DIGITS)),
  token('openshift', 'openshift', (r) => 'sha256~' + withDigit(r, 43, B64URL)),
  token('airtable-pat', 'airtable', (r) => 'pat' + withDigit(r, 14, ALNUM) + '.' + r.str(64, HEX)),
  token('shippo', 'shippo', (r) => 'shippo_' + 'live_' + r.str(40, HEX)),
  token('easypost', 'easypost', (r) => 'EZAK' + withDigit(r, 54, ALNUM)),
  token('facebook-page', 'facebook', (r) => 'EAAM' + withDigit(r, 140, ALNUM)),
  token('alibaba', 'alibaba', (r) => 'LTAI' + withDigit(r, 20, ALNUM)),
  token('dynatrace', 'dynatrace', (r) => `dt0c01.${withDigit(r, 24, UPPER + DIGITS)}.${r.str(64, UPPER + DIGITS)}`),
  token('cloudflare-origin-ca', 'cloudflare_origin', (r) => `v1.0-${r.str(24, HEX)}-${r.str(146, HEX)}`),
  token('square-production', 'square_prod', (r) => 'EAAA' + withDigit(r, 60, B64URL)),
  token('google-oauth-client-secret', 'google_client', (r) => 'GOCSPX-' + withDigit(r, 28, B64URL)),
  token('supabase', 'supabase', (r) => 'sbp_' + r.str(40, HEX)),
  token('buildkite', 'buildkite', (r) => 'bkua_' + r.str(40, HEX)),
  token('bitbucket-app-password', 'bitbucket', (r) => 'ATBB' + withDigit(r, 32, ALNUM) + r.str(8, HEX.toUpperCase())),
  token('mapbox-secret', 'mapbox', (r) => 'sk.' + Buffer.from(JSON.stringify({ u: 'acme', a: r.str(25, LOWER + DIGITS) })).toString('base64url') + '.' + withDigit(r, 22, B64URL)),
  token('elevenlabs', 'elevenlabs', (r) => 'sk_' + r.str(48, HEX)),
  token('dropbox-short-lived', 'dropbox', (r) => 'sl.' + withDigit(r, 138, B64URL)),
  // Keys and tokens of no vendor.
  { kind: 'pem-rsa', stem: 'rsa_private_key', bare: true, multiline: true, make: (r) => pemKind(r, 'RSA PRIVATE KEY', 12) },
  { kind: 'pem-openssh', stem: 'ssh_private_key', bare: true, multiline: true, make: (r) => pemKind(r, 'OPENSSH PRIVATE KEY', 6) },
  { kind: 'pem-ec', stem: 'ec_private_key', bare: true, multiline: true, make: (r) => pemKind(r, 'EC PRIVATE KEY', 3) },
  token('jwt', 'session', (r) => jwtOf(r)),
  token('jwt-base64', 'encoded_session', (r) => b64(jwtOf(r))),
  // Connection URLs: the password goes, the rest is context.
  urlKind('postgres-url', 'database', (r, pw) => `postgres://app_${r.str(3, LOWER)}:${pw}@db-${r.int(1, 9)}.internal:5432/app?sslmode=require`),
  urlKind('mongodb-url', 'mongo', (r, pw) => `mongodb+srv://svc:${pw}@cluster0.${r.str(5, LOWER)}.mongodb.net/orders?retryWrites=true`),
  urlKind('redis-url', 'redis', (r, pw) => `redis://:${pw}@cache.internal:6379/0`),
  urlKind('mysql-url', 'mysql', (r, pw) => `mysql://root:${pw}@127.0.0.1:3306/shop`),
  urlKind('amqp-url', 'rabbitmq', (r, pw) => `amqps://worker:${pw}@mq.${r.str(4, LOWER)}.example.net:5671/vhost`),
  // No shape at all: only a key name can tell.
  token('generic-password', 'db_password', (r) => withDigit(r, 18, ALNUM + '!#%^*+-') + '!', false),
  token('generic-hex-secret', 'webhook_signing', (r) => r.str(40, HEX), false),
  token('generic-base64-secret', 'encryption', (r) => withDigit(r, 43, B64) + '=', false),
];

function pemKind(r: Random, label: string, lines: number): Made {
  const body = pemBody(r, lines);
  return { value: pem(label, body) + '\n', sensitive: body };
}

function jwtOf(r: Random): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: r.pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' })}.${part({ sub: r.uuid(), iat: 1_760_000_000 + r.int(0, 9_999_999), scope: 'read write' })}.${r.str(43, B64URL)}`;
}

function urlKind(kind: string, stem: string, url: (r: Random, password: string) => string): SecretKind {
  return {
    kind,
    stem,
    bare: true,
    make: (r) => {
      const password = withDigit(r, 20, ALNUM + '_~');
      return { value: url(r, password), sensitive: [password] };
    },
  };
}

// ------------------------------------------------------------------ contexts

export type Family = 'key-named' | 'weak-syntax' | 'bare' | 'k8s-secret-data';

interface Keys {
  /** githubToken */
  readonly camel: string;
  /** github_token */
  readonly snake: string;
  /** GITHUB_TOKEN */
  readonly upper: string;
  /** A Kubernetes data key. */
  readonly dataKey: string;
}

export interface Context {
  readonly name: string;
  readonly family: Family;
  /** Can hold a value that spans lines. */
  readonly multiline: boolean;
  /** Shell text, so a bash command can carry it inline; other contexts are written with a heredoc. */
  readonly shell: boolean;
  /** Only for kinds recognisable without a key (family bare). */
  readonly bareOnly?: boolean;
  /** The text, and the part before the value that must survive (the key and its operator). */
  render(keys: Keys, value: string): { text: string; keep?: string };
}

const indent = (value: string, by: string) => value.split('\n').map((line) => (line ? by + line : line)).join('\n');
const ctx = (name: string, family: Family, render: Context['render'], options: { multiline?: boolean; shell?: boolean; bareOnly?: boolean } = {}): Context => ({
  name,
  family,
  render,
  multiline: options.multiline ?? false,
  shell: options.shell ?? false,
  ...(options.bareOnly ? { bareOnly: true } : {}),
});
/** `keep` is the literal text before the value. */
const kv = (keep: string, value: string, after = '') => ({ text: keep + value + after, keep });

export const CONTEXTS: readonly Context[] = [
  // A key name next to the value.
  ctx('json', 'key-named', (k, v) => ({ text: `{\n  "${k.snake}": ${JSON.stringify(v)},\n  "region": "eu-west-1"\n}`, keep: `"${k.snake}": "` }), { multiline: true }),
  ctx('json-escaped', 'key-named', (k, v) => kv(`\\{\n    \\"${k.snake}\\": \\"`, v, '\\"\n\\}')),
  ctx('yaml', 'key-named', (k, v) => kv(`service:\n  ${k.snake}: `, v, '\n  timeout: 30s')),
  ctx('yaml-quoted', 'key-named', (k, v) => kv(`${k.snake}: '`, v, "'")),
  ctx('env-export', 'key-named', (k, v) => kv(`export ${k.upper}=`, v, ' && ./deploy.sh'), { shell: true }),
  ctx('dotenv-quoted', 'key-named', (k, v) => kv(`${k.upper}="`, v, '"\nLOG_LEVEL=info')),
  ctx('ini', 'key-named', (k, v) => kv(`[default]\n${k.camel} = `, v)),
  ctx('python', 'key-named', (k, v) => kv(`${k.camel} = "`, v, '"\nclient = Client(' + k.camel + ')')),
  ctx('url-query', 'key-named', (k, v) => kv(`curl -s "https://api.example.com/v1/items?limit=5&${k.snake}=`, v, '"'), { shell: true }),
  ctx('bearer-header', 'key-named', (k, v) => kv('curl -H "Authorization: Bearer ', v, '" https://api.example.com/v1/me'), { shell: true }),
  ctx('read-tool-output', 'key-named', (k, v) => kv(`     1\t# deploy settings\n     2\t${k.upper}=`, v, '\n     3\tREGION=eu-west-1')),
  ctx('diff', 'key-named', (k, v) => kv(`@@ -1,2 +1,3 @@\n REGION=eu-west-1\n+${k.upper}=`, v, '\n LOG_LEVEL=info')),
  ctx('docker-env', 'key-named', (k, v) => kv(`docker run --rm -e ${k.upper}=`, v, ' -p 8080:8080 acme/app:1.4.2'), { shell: true }),
  ctx('toml', 'key-named', (k, v) => kv(`[service]\n${k.snake} = "`, v, '"\ntimeout = 30')),
  ctx('powershell', 'key-named', (k, v) => kv(`$env:${k.upper} = "`, v, '"')),
  ctx('cli-flag', 'key-named', (k, v) => kv(`./bin/sync --${k.snake.replaceAll('_', '-')}=`, v, ' --dry-run'), { shell: true }),
  // Assignment syntaxes secret scanners list and naive key matching misses.
  ctx('make-conditional', 'weak-syntax', (k, v) => kv(`${k.upper} ?= `, v, '\nall:\n\t./build.sh')),
  ctx('make-shell', 'weak-syntax', (k, v) => kv(`${k.upper} ::= "`, v, '"')),
  ctx('make-evaluated', 'weak-syntax', (k, v) => kv(`${k.upper} :::= `, v)),
  ctx('make-append', 'weak-syntax', (k, v) => kv(`${k.upper} += "`, v, '"')),
  ctx('php-concat', 'weak-syntax', (k, v) => kv(`<?php\n$${k.camel} .= "`, v, '";')),
  ctx('go-backtick', 'weak-syntax', (k, v) => kv(`${k.camel} := \``, v, '`')),
  ctx('go-var', 'weak-syntax', (k, v) => kv(`var ${k.camel} string = "`, v, '"')),
  ctx('java-set-property', 'weak-syntax', (k, v) => kv(`System.setProperty("${k.upper}", "`, v, '");')),
  ctx('java-field', 'weak-syntax', (k, v) => kv(`private static final String ${k.camel} = "`, v, '";')),
  ctx('kotlin-typed', 'weak-syntax', (k, v) => kv(`val ${k.camel}: String = "`, v, '"')),
  ctx('rust-const', 'weak-syntax', (k, v) => kv(`const ${k.upper}: &str = "`, v, '";')),
  ctx('csharp', 'weak-syntax', (k, v) => kv(`string ${k.camel} = "`, v, '";')),
  ctx('xml-element', 'weak-syntax', (k, v) => kv(`<config>\n  <${k.camel}>`, v, `</${k.camel}>\n</config>`)),
  ctx('xml-multiline', 'weak-syntax', (k, v) => kv(`<${k.camel}>\n    `, v, `\n</${k.camel}>`)),
  ctx('yaml-literal', 'weak-syntax', (k, v) => ({ text: `${k.snake}: |\n${indent(v, '  ')}`, keep: `${k.snake}: |` }), { multiline: true }),
  ctx('yaml-folded', 'weak-syntax', (k, v) => kv(`${k.snake}: >\n  `, v)),
  ctx('csv', 'weak-syntax', (k, v) => kv(`${k.camel},`, v, ',2026-01-01')),
  ctx('logstash', 'weak-syntax', (k, v) => kv(`filter {\n  mutate { add_field => {\n  "${k.camel}" => "`, v, '"\n} } }')),
  // No key name at all.
  ctx('prose', 'bare', (_, v) => ({ text: `I rotated it earlier; the new one is ${v} - can you update the deploy?` }), { bareOnly: true }),
  ctx('cli-argument', 'bare', (_, v) => ({ text: `./scripts/check-credential ${v}` }), { shell: true, bareOnly: true }),
  ctx('terminal-output', 'bare', (_, v) => ({ text: `Created.\n\n    ${v}\n\nCopy it now, it will not be shown again.` }), { bareOnly: true }),
  ctx('file', 'bare', (_, v) => ({ text: v }), { multiline: true, bareOnly: true }),
  // Kubernetes Secrets: the value is base64 under any data key; as written, and as `kubectl get -o yaml` prints it (data first).
  // Written by hand: the secret is the second entry (the key kept is the first one's).
  ctx('k8s-manifest', 'k8s-secret-data', (k, v) => {
    const keep = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-credentials\ntype: Opaque\ndata:\n  username: ';
    return { text: `${keep}${b64('svc-app')}\n  ${k.dataKey}: ${b64(v)}\n`, keep };
  }, { multiline: true }),
  ctx('k8s-get-yaml', 'k8s-secret-data', (k, v) => kv(`apiVersion: v1\ndata:\n  ${k.dataKey}: `, b64(v), `\nkind: Secret\nmetadata:\n  name: app-credentials\n  namespace: default\ntype: Opaque\n`), { multiline: true }),
];

const DATA_KEYS = ['token', 'api-key', 'credentials', 'config.json', 'url', 'tls.key', 'secret'];

/** Key suffixes in rotation: secret scanners' samples mostly say Token; code says Key, Secret, Password too. */
const KEY_SUFFIXES = [['Token', 'token'], ['Key', 'key'], ['Secret', 'secret'], ['ApiKey', 'api_key'], ['Password', 'password'], ['AccessToken', 'access_token']] as const;

function keysFor(stem: string, index: number): Keys {
  const [camelSuffix, snakeSuffix] = KEY_SUFFIXES[index % KEY_SUFFIXES.length]!;
  const camel = stem.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) + camelSuffix;
  return { camel, snake: `${stem}_${snakeSuffix}`, upper: `${stem}_${snakeSuffix}`.toUpperCase(), dataKey: DATA_KEYS[index % DATA_KEYS.length]! };
}

// ------------------------------------------------------------------ carriers

export type Carrier = 'bash' | 'write' | 'tool-output' | 'prompt';
export const CARRIERS: readonly Carrier[] = ['bash', 'write', 'tool-output', 'prompt'];

/** Analysis-critical attributes every record carries; they must come back byte for byte. */
export const SESSION_ID = '6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b';
export const ACCOUNT_UUID = '0b8e5d2c-7a41-4f3e-9d6c-2e1a0f9b8c7d';
export const MODEL = 'claude-sonnet-4-6';
export const GIT_COMMIT = 'e83c5163316f89bfbde7d9ab23ca2e25604af290';
export const TOOL_USE_ID = 'toolu_01A09q90qw90lq917835lq9';

/** The attribute that carries the text, and whether its value is JSON. */
export const CARRIED_IN: Record<Carrier, { attribute: string; json: boolean }> = {
  bash: { attribute: 'tool_parameters', json: true },
  write: { attribute: 'tool_input', json: true },
  'tool-output': { attribute: 'body', json: true },
  prompt: { attribute: 'prompt', json: false },
};

/** How a piece of the text appears inside the carrying attribute. */
export function encoded(carrier: Carrier, text: string): string {
  return CARRIED_IN[carrier].json ? JSON.stringify(text).slice(1, -1) : text;
}

function carry(carrier: Carrier, id: string, text: string, shell: boolean, file: string): PlainRecord {
  const common = { 'session.id': SESSION_ID, 'prompt.id': id, 'user.account_uuid': ACCOUNT_UUID, 'terminal.type': 'vscode' };
  switch (carrier) {
    case 'bash': {
      const command = shell ? text : `cat > ${file} <<'EOF'\n${text}\nEOF`;
      return {
        body: 'claude_code.tool_result',
        attributes: {
          ...common,
          'event.name': 'tool_result',
          tool_name: 'Bash',
          tool_use_id: TOOL_USE_ID,
          success: 'true',
          duration_ms: '812',
          tool_parameters: JSON.stringify({ bash_command: command, full_command: command, description: 'Write the config', git_commit_id: GIT_COMMIT }),
        },
      };
    }
    case 'write':
      return {
        body: 'claude_code.tool_result',
        attributes: {
          ...common,
          'event.name': 'tool_result',
          tool_name: 'Write',
          tool_use_id: TOOL_USE_ID,
          success: 'true',
          duration_ms: '3',
          tool_parameters: JSON.stringify({ file_path: `/home/dev/app/${file}` }),
          tool_input: JSON.stringify({ file_path: `/home/dev/app/${file}`, content: text }),
        },
      };
    case 'tool-output':
      return {
        body: 'claude_code.api_request_body',
        attributes: {
          ...common,
          'event.name': 'api_request_body',
          model: MODEL,
          request_id: 'req_011CUa1b2c3d4e5f6g7h8i9j',
          body: JSON.stringify({
            model: MODEL,
            max_tokens: 32000,
            messages: [
              { role: 'assistant', content: [{ type: 'tool_use', id: TOOL_USE_ID, name: 'Bash', input: { command: `cat ${file}` } }] },
              { role: 'user', content: [{ type: 'tool_result', tool_use_id: TOOL_USE_ID, content: text }] },
            ],
          }),
        },
      };
    case 'prompt':
      return {
        body: 'claude_code.user_prompt',
        attributes: { ...common, 'event.name': 'user_prompt', prompt_length: String(text.length + 40), prompt: `This does not work, can you see why?\n\n${text}\n\nThanks` },
      };
  }
}

/** Attribute values that must come back unchanged in every record of the corpus. */
export const CRITICAL_ATTRIBUTES = ['session.id', 'prompt.id', 'user.account_uuid', 'terminal.type', 'event.name', 'tool_name', 'tool_use_id', 'success', 'duration_ms', 'model', 'request_id', 'prompt_length'];

/** Fields inside JSON attributes that analysis extracts and that must come back unchanged. */
export const CRITICAL_JSON_FIELDS: Record<string, readonly string[]> = {
  tool_parameters: ['description', 'git_commit_id', 'file_path'],
  tool_input: ['file_path'],
  body: ['model', 'max_tokens'],
};

// ------------------------------------------------------------------ the corpus

export interface CorpusRecord {
  readonly id: string;
  readonly group: 'secret' | 'lookalike';
  readonly kind: string;
  readonly family: Family | 'lookalike';
  readonly context: string;
  readonly carrier: Carrier;
  readonly record: PlainRecord;
  /** Strings that must not appear in any value of the output (secrets only). */
  readonly sensitive: readonly string[];
  /** Text before the secret that must survive, as it appears in the carrying attribute (secrets in key contexts). */
  readonly keep?: string;
}

/** Splits a sensitive value into the pieces a partial redaction could leave: a record is only clean when none survives. */
function pieces(sensitive: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of sensitive) {
    out.add(value);
    for (const piece of value.split(/[\s:.@/]+/)) if (piece.length >= 12) out.add(piece);
  }
  return [...out];
}

export function secretRecords(seed = 13): CorpusRecord[] {
  const r = new Random(seed);
  const records: CorpusRecord[] = [];
  SECRET_KINDS.forEach((kind, kindIndex) => {
    const keys = keysFor(kind.stem, kindIndex);
    for (const context of CONTEXTS) {
      if (context.bareOnly && !kind.bare) continue;
      if (kind.multiline && !context.multiline) continue;
      for (const carrier of CARRIERS) {
        const made = kind.make(r);
        const { text, keep } = context.render(keys, made.value);
        const sensitive = (made.sensitive ?? [made.value]).map((part) => (context.family === 'k8s-secret-data' ? b64(made.value) : part));
        const id = `s-${records.length}`;
        records.push({
          id,
          group: 'secret',
          kind: kind.kind,
          family: context.family,
          context: context.name,
          carrier,
          record: carry(carrier, id, text, context.shell, `config/${kind.stem}.conf`),
          sensitive: pieces([...new Set(sensitive)]),
          ...(keep !== undefined ? { keep: encoded(carrier, keep) } : {}),
        });
      }
    }
  });
  return records;
}

// ------------------------------------------------------------------ look-alikes

export interface LookAlike {
  readonly kind: string;
  readonly text: string;
  readonly shell?: boolean;
}

/** Text a secret scanner's rules come close to but that holds no secret; it must come back unchanged. */
export const LOOK_ALIKES: readonly LookAlike[] = [
  { kind: 'terraform-var-reference', text: 'resource "aws_db_instance" "main" {\n  username = "app"\n  password = var.db_password\n}' },
  { kind: 'terraform-resource-reference', text: 'master_password = random_password.db.result\napi_token = data.vault_generic_secret.ci.data' },
  { kind: 'terraform-local', text: 'locals {\n  secret_key = local.settings.secret_key_name\n}' },
  { kind: 'maven-coordinates', text: 'implementation("io.jsonwebtoken:jjwt-jackson:0.11.2")\nruntimeOnly("io.jsonwebtoken:jjwt-impl:0.11.2")' },
  { kind: 'jar-name', text: 'Downloaded io.jsonwebtoken:jjwt-jackson-0.11.2.jar (8 kB at 64 kB/s)', shell: false },
  { kind: 'c-hf-identifiers', text: 'static hf_register_info hf[] = {\n  { &hf_smb_password, { "Password", "smb.password", FT_BYTES, BASE_NONE, NULL, 0, NULL, HFILL }},\n};\nstatic int hf_ieee80211_tag_supported_rates = -1;' },
  { kind: 'c-hf-register', text: 'proto_register_field_array(proto_smb, hf, array_length(hf));\nhf_register_info *hf_token_list = NULL;' },
  { kind: 'external-secret', text: 'spec:\n  data:\n    - secretKey: api-key\n      remoteRef:\n        key: prod/payments\n        property: api-key\n    - secretKey: db-password\n      remoteRef:\n        key: prod/db' },
  { kind: 'secret-key-ref', text: 'env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-credentials\n        key: password' },
  { kind: 'placeholder-angle', text: 'export OPENAI_API_KEY=<your-api-key>\nexport GITHUB_TOKEN=<token>', shell: true },
  { kind: 'placeholder-variable', text: 'export API_TOKEN=${API_TOKEN}\npassword: "${DB_PASSWORD}"\ntoken: $(cat /run/secrets/token)', shell: true },
  { kind: 'placeholder-words', text: 'api_key = "YOUR_API_KEY"\npassword: changeme\nsecret: your-secret-here\ntoken: xxxxxxxxxxxxxxxxxxxx' },
  { kind: 'placeholder-masked', text: 'password: ********\napi_key: "****"\nAuthorization: Bearer <token>' },
  { kind: 'helm-template', text: 'password: {{ .Values.db.password }}\napiKey: {{ required "apiKey" .Values.apiKey | b64enc }}' },
  { kind: 'git-sha', text: 'git show 3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d --stat\ngit revert e83c5163316f89bfbde7d9ab23ca2e25604af290', shell: true },
  { kind: 'git-log', text: 'commit 3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d\nAuthor: Release Bot\n\n    Rotate token handling (#482)' },
  { kind: 'uuid', text: 'request 0b8e5d2c-7a41-4f3e-9d6c-2e1a0f9b8c7d failed; trace 5f1e2d3c-4b5a-4968-8776-655443322110' },
  { kind: 'file-paths', text: 'ls ~/.aws/credentials ~/.config/gh/hosts.yml src/auth/token_store.ts src/secrets/api_key_provider.go', shell: true },
  { kind: 'function-calls', text: 'api_key = get_api_key()\ntoken = os.environ["GITHUB_TOKEN"]\npassword = getpass.getpass("Password: ")\nSECRET_KEY = os.environ.get("SECRET_KEY")' },
  { kind: 'js-references', text: 'const token = await getToken();\nconst apiKey = process.env.OPENAI_API_KEY;\nthis.password = options.password;' },
  { kind: 'typed-declarations', text: 'interface Config {\n  apiKey: string;\n  token?: string;\n}\nvar apiToken string' },
  { kind: 'test-fixture-names', text: 'def test_refresh_token_expired():\n    fixture = load("fixtures/invalid_api_key.json")\n    assert_token_rejected(fixture)' },
  { kind: 'test-names-go', text: 'func TestSecretKeyRotation(t *testing.T) {\n\tsecretKey := newSecretKey(t)\n}' },
  { kind: 'config-keys', text: 'token_count: 1500\nmax_tokens: 4096\ntoken_limit: 200000\npassword_min_length: 12' },
  { kind: 'docker-user', text: 'docker run -u 1000:1000 -p 8080:80 node:24@sha256:ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12', shell: true },
  { kind: 'npm-package', text: 'npm install @anthropic-ai/claude-code@2.1.5 hf_transfer token-types@5.0.1', shell: true },
  { kind: 'css-and-html', text: '<input type="password" name="password" autocomplete="current-password">\n.token-list { color: #ff0; }' },
  { kind: 'sql', text: "SELECT user_id, password_hash FROM users WHERE api_key_id = 42;\nALTER TABLE tokens ADD COLUMN token_hash TEXT;" },
  { kind: 'prose', text: 'Rotate the API key monthly and never commit the token; the password policy needs 12 characters.' },
  { kind: 'kubectl', text: 'kubectl create secret generic db-creds --from-file=password.txt\nkubectl get secret db-creds -o jsonpath="{.data.password}"', shell: true },
  { kind: 'configmap', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  LOG_LEVEL: debug\n  APP_NAME: checkoutservice\n  FEATURE_FLAGS: newcheckoutflowenabled' },
  { kind: 'hex-hashes', text: 'sha256sum: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  app.tar.gz\nmd5 d41d8cd98f00b204e9800998ecf8427e' },
  { kind: 'base64-non-secret', text: 'echo aGVsbG8gd29ybGQK | base64 -d\nicon: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', shell: true },
  { kind: 'identifiers-with-prefixes', text: 'task_manager.sk_test_runner = None\nshpat_parser = Parser()\nglpat_regex = re.compile(r"glpat-[0-9a-zA-Z_-]{20}")\nkey_value_store = {}' },
  { kind: 'short-prefixed-words', text: 'mask-prefix sk-ant- is documented; use ghp_ or github_pat_ tokens; the npm_ prefix; AKIA keys' },
  { kind: 'version-strings', text: 'node v24.1.0, go1.23.4, python 3.12.7, openssl 3.0.13' },
  { kind: 'urls-without-credentials', text: 'git clone https://github.com/acme/app.git\ncurl https://hooks.example.com/services/status\nopen https://discord.com/channels/1234/5678', shell: true },
  { kind: 'email-like-image', text: 'docker pull registry.example.com/app@sha256:' + 'cd34'.repeat(16) + '\nopen icon@2x.png' },
  { kind: 'timestamps-and-numbers', text: '2026-01-15T09:30:12.345Z cost_usd=0.0123 input_tokens=1500 output_tokens=320 duration_ms=1534' },
  { kind: 'gradle-properties', text: 'org.gradle.jvmargs=-Xmx2048m\nsigning.keyId=24875D73\nsigning.secretKeyRingFile=/home/dev/.gnupg/secring.gpg' },
  { kind: 'go-imports', text: 'import (\n\t"github.com/golang-jwt/jwt/v5"\n\t"golang.org/x/oauth2"\n)\nvar tokenSource oauth2.TokenSource' },
  { kind: 'java-get-property', text: 'String apiKey = System.getProperty("api.key");\nString pw = System.getenv("DB_PASSWORD");' },
  { kind: 'makefile-variables', text: 'TOKEN_FILE ?= $(HOME)/.token\nAPI_KEY ?= $(shell cat .api_key)\nPASSWORD_FILE := secrets/password.txt' },
  { kind: 'php-references', text: '<?php\n$api_key = getenv("API_KEY");\n$password .= $suffix;\n$token = $request->bearerToken();' },
  { kind: 'xml-references', text: '<password>${env.DB_PASSWORD}</password>\n<apiKey>\n    ${API_KEY}\n</apiKey>' },
  { kind: 'terraform-resource-id', text: 'client_vpn_endpoint_id = aws_ec2_client_vpn_endpoint.client-vpn-endpoint.id' },
  { kind: 'go-sum', text: 'golang.org/x/oauth2 v0.15.0 h1:s8pnnxNVzjWyrvYdFUQq5llS1PX2zhPXmccZv99h7uQ=\ngolang.org/x/oauth2 v0.15.0/go.mod h1:q48ptWNTY5XWf+JNten23lcvHpLJ0ZSxF5ttTHKVCAM=' },
  { kind: 'ci-secret-references', text: 'env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}' },
  { kind: 'credential-file-paths', text: 'export GOOGLE_APPLICATION_CREDENTIALS=/home/dev/keys/sa.json\nexport AWS_SHARED_CREDENTIALS_FILE=~/.aws/credentials', shell: true },
  { kind: 'token-metadata', text: '{"token_type":"bearer","expires_in":3600,"scope":"repo read:org","password_required":true}' },
  { kind: 'spring-placeholders', text: 'spring.datasource.password=${DB_PASSWORD}\njwt.secret=${JWT_SECRET:}\n@Value("${api.key}") private String apiKey;' },
  { kind: 'npm-integrity', text: '"integrity": "sha512-Vf3kQ9n8pLm2Qx7rT5wYz1A0bC4dE6fG8hI0jK2lM4nO6pQ8rS0tU2vW4xY6zA8bC0dE2fG4hI6jK8lM0nO2pQ==",\n"resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"' },
  { kind: 'service-account-token-path', text: 'cat /var/run/secrets/kubernetes.io/serviceaccount/token | head -c 20', shell: true },
  { kind: 'aws-arn', text: 'aws sts assume-role --role-arn arn:aws:iam::123456789012:role/deploy --role-session-name ci-1730000000', shell: true },
  { kind: 'hf-hub-calls', text: 'from huggingface_hub import hf_hub_download\npath = hf_hub_download(repo_id="gpt2", filename="config.json")\nhf_api_token_env_name = "HF_TOKEN"' },
  { kind: 'ssh-remote', text: 'git remote add origin git@github.com:acme/app.git && git push -u origin main', shell: true },
  { kind: 'jwt-library-names', text: 'pip install pyjwt==2.8.0 python-jose[cryptography]\nimport jwt; jwt.decode(token, key, algorithms=["HS256"])', shell: true },
];

export function lookAlikeRecords(): CorpusRecord[] {
  const records: CorpusRecord[] = [];
  for (const lookAlike of LOOK_ALIKES) {
    for (const carrier of CARRIERS) {
      const id = `l-${records.length}`;
      records.push({ id, group: 'lookalike', kind: lookAlike.kind, family: 'lookalike', context: 'as written', carrier, record: carry(carrier, id, lookAlike.text, lookAlike.shell ?? false, 'notes.txt'), sensitive: [] });
    }
  }
  return records;
}
