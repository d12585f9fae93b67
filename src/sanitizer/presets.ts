/**
 * Built-in sanitizer presets: the patterns behind the names in src/api/presets.ts.
 *
 * Every pattern is RE2 (the collector's Go regexp and re2js accept the same syntax): no
 * look-around, no back-references, no possessive quantifiers. Because RE2 cannot look
 * behind, a match that needs left context (a key name, "Authorization:", "//") has to
 * include that context, and the whole match is replaced by `[REDACTED:<name>]`. Patterns are
 * shaped so that what survives still reads sensibly and so that quotes are only ever
 * consumed in pairs.
 *
 * Two facts about the data shape many patterns:
 * - Secrets mostly arrive inside JSON-encoded attributes (tool_parameters, tool_input), so a
 *   bash command is JSON text: quotes appear as \" and newlines as \n. A pattern must never
 *   consume half of an escape, or the attribute stops being JSON and every query that
 *   extracts bash_command or git_commit_id from it comes back empty.
 * - A secret can follow a JSON escape directly ("...\nghp_..."): there is no word boundary
 *   between "n" and "g", and a pattern starting with a letter class would begin at the "n"
 *   of "\n". Where that matters a pattern may start by consuming the whole escape
 *   ({@link LEAD}, {@link OPTIONAL_ESCAPE}); that drops a newline from the decoded text,
 *   which is harmless, and keeps the JSON valid.
 *
 * Presets run in the order of PRESET_NAMES: the specific token shapes first, the contextual
 * ones (authorization headers, URL credentials, generic assignments) after them. The
 * contextual ones refuse values starting with "[", so `GH_TOKEN=ghp_...` ends up as
 * `GH_TOKEN=[REDACTED:github-tokens]` rather than being redacted a second time.
 *
 * Only the secret is replaced. Context a pattern needs (a key name, "Authorization: Bearer ",
 * quotes, "//user:", a JSON escape) is matched inside keep-groups, `(?P<pre…>)` before the
 * secret and `(?P<post…>)` after it, and written back by the replacement template
 * (`${pre1}${pre2}[REDACTED:x]${post1}`, Go regexp Expand syntax; see rules.ts). So
 * `export DB_PASSWORD=x` becomes `export DB_PASSWORD=[REDACTED:secret-assignments]` and JSON
 * `"api_key": "x"` keeps its shape. Keep-groups never nest and never sit inside a repetition,
 * so along any one match the participating ones appear in the text in group order.
 */
import { PRESET_NAMES, type PresetName } from '../api/presets.ts';

export interface Preset {
  readonly name: PresetName;
  /** One sentence, for docs. */
  readonly description: string;
  /** RE2 syntax; compiles with re2js and Go's regexp. Keep-groups are numbered (pre1, pre2, post1 ...). */
  readonly pattern: string;
  /** 'hash' only where a keyed hash keeps analysis possible (e-mail addresses: per-person views). */
  readonly action: 'redact' | 'hash';
}

// ------------------------------------------------------------------ keep-groups

/** Group-name stems of the text kept around a secret, and of the text a hash rule hashes. */
export const KEEP_BEFORE = 'pre';
export const KEEP_AFTER = 'post';
export const HASHED_GROUP = 'value';

/** Matched text written back before the secret. */
const pre = (re: string) => `(?P<${KEEP_BEFORE}>${re})`;
/** Matched text written back after the secret. */
const post = (re: string) => `(?P<${KEEP_AFTER}>${re})`;

/** Gives every keep-group a unique name (pre1, pre2 ..., post1 ...), as RE2 requires. */
function numberKeepGroups(pattern: string): string {
  const count = { [KEEP_BEFORE]: 0, [KEEP_AFTER]: 0 };
  return pattern.replace(new RegExp(String.raw`\(\?P<(${KEEP_BEFORE}|${KEEP_AFTER})>`, 'g'), (_, stem: keyof typeof count) => `(?P<${stem}${++count[stem]}>`);
}

// ------------------------------------------------------------------ building blocks

/** A JSON string escape for newline, return or tab, as in "...\nexport TOKEN=...". */
const JSON_ESCAPE = String.raw`\\[nrt]`;

/**
 * A word boundary before a token whose prefix is short enough to occur inside words
 * ("task-..." contains "sk-", "disk_test_" contains "sk_test_"), or a JSON escape right
 * before it, where \b fails ("\nsk-..."): the escape is then matched with the token, and kept.
 */
const LEAD = pre(String.raw`${JSON_ESCAPE}|\b`);
/** LEAD's alternatives without a group, for patterns that keep more than the escape. */
const LEAD_TEXT = String.raw`(?:${JSON_ESCAPE}|\b)`;

/**
 * For patterns that start with a character class that also holds the letters n, r and t
 * (key names, e-mail local parts): without it "\nDB_PASSWORD=x" would match from the "n"
 * and a hash would replace the "n" and leave a dangling backslash. Kept where the rule keeps
 * context; a hash rule replaces its whole match, so there it drops one decoded newline.
 */
const OPTIONAL_ESCAPE = `(?:${JSON_ESCAPE})?`;

/** Assignment operators: shell/env/ini "=", YAML/JSON ":", Go ":=", Ruby/PHP "=>". */
const OP = String.raw`[ \t]*(?::=|=>|[:=])[ \t]*`;

/** What a value may look like in each quoting context; none of them includes its quotes. */
interface ValueShapes {
  /** Inside "..." (backslash escapes allowed). */
  readonly dq: string;
  /** Inside '...' (no escapes, as in shell). */
  readonly sq: string;
  /** Inside \"...\", i.e. a double-quoted value inside a JSON-encoded string. */
  readonly edq: string;
  /** Unquoted. */
  readonly bare: string;
}

/**
 * `key <op> value` in every quoting style. The key, the operator and the quotes are kept;
 * only the value is replaced:
 * - key quoted (JSON `"api_key": "v"`, Python `'api_key': 'v'`, escaped `\"api_key\": \"v\"`):
 *   the match runs from the key name to the end of the value; the key's opening and the
 *   value's closing quote lie outside the match, so `{"api_key": "[REDACTED:x]"}`.
 * - key bare (shell, env, YAML, ini, `--flag=`): the value's own quotes are matched as a pair
 *   and kept.
 */
function assignment(key: string, value: ValueShapes): string {
  return (
    `${pre(key)}(?:` +
    `${pre(`"${OP}"`)}${value.dq}|${pre(`'${OP}'`)}${value.sq}|${pre(String.raw`\\"${OP}\\"`)}${value.edq}|` +
    `${pre(OP)}(?:${quoted(value)}|${value.bare}))`
  );
}

/** A value in its own quotes, the quotes kept: "v", 'v', \"v\". */
function quoted(value: Omit<ValueShapes, 'bare'>): string {
  const dq = '"';
  const edq = String.raw`\\"`;
  return `${pre(dq)}${value.dq}${post(dq)}|${pre("'")}${value.sq}${post("'")}|${pre(edq)}${value.edq}${post(edq)}`;
}

/** Same value shapes for every quoting context (token alphabets hold no quotes or backslashes). */
function anyQuoting(body: string): ValueShapes {
  return { dq: body, sq: body, edq: body, bare: body };
}

// ------------------------------------------------------------------ generic assignments

/**
 * Key names that announce a secret. A key matches when it *ends* in one of these, so
 * DB_PASSWORD, PGPASSWORD, GH_TOKEN, client_secret, accessToken, x-api-key and --password
 * match, while input_tokens, max_tokens, token_count, tokenizer, secretName, secretKeyRef,
 * passwordless and apiKeyHelper do not (the keyword must be followed by the operator).
 * "pass" and "pwd" only count after a separator (DB_PASS, DB_PWD, --pass): bare PWD and
 * OLDPWD are the shell's working directory and "bypass" is not a password.
 */
const SECRET_KEYWORD = String.raw`(?i:pass(?:word|wd|phrase)|[_.-]pass|[_.-]pwd|secret(?:[_.-]?key(?:[_.-]?base)?)?|token|api[_.-]?key|access[_.-]?key|private[_.-]?key)`;
const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*${SECRET_KEYWORD}`;

/**
 * The first character of a generic value may not be whitespace, a quote, a backslash, or
 * start a placeholder or a masked value: $TOKEN, ${TOKEN}, $(cmd), {{ .Values.x }},
 * <your-token>, [REDACTED:...] (an earlier preset already did the job), ****, %(pw)s.
 * Values need at least 4 characters: "password: " and `token: ""` are not secrets, and
 * very short values are more often prose than credentials.
 */
const NOT_PLACEHOLDER = String.raw`$\[{<*%`;
const GENERIC_VALUE: ValueShapes = {
  dq: String.raw`[^"\\\s${NOT_PLACEHOLDER}](?:[^"\\\r\n]|\\.){3,}`,
  sq: String.raw`[^'\\\s${NOT_PLACEHOLDER}][^'\r\n]{3,}`,
  edq: String.raw`[^"\\\s${NOT_PLACEHOLDER}](?:[^"\\\r\n]|\\[^"\r\n]){3,}`,
  // Unquoted: ends at whitespace, a quote, a backslash (JSON escape) or a shell operator.
  // A leading "-" is refused so that `--password --verbose` does not take the next flag.
  bare: String.raw`[^\s"'\\;&|<>${'`'}${NOT_PLACEHOLDER}-][^\s"'\\;&|<>${'`'}]{3,}`,
};

/** `--password hunter2`, `--token "x"`: a flag (leading dash) whose value follows a space. */
const SECRET_FLAG = `${pre(String.raw`-[A-Za-z0-9_.-]*${SECRET_KEYWORD}[ \t]+`)}(?:${quoted(GENERIC_VALUE)}|${GENERIC_VALUE.bare})`;

// ------------------------------------------------------------------ authorization

/** RFC 7235 token68 plus "%" for URL-encoded header values (OTEL_EXPORTER_OTLP_HEADERS). */
const TOKEN68 = String.raw`[A-Za-z0-9+/=._~%-]`;
const AUTH_SCHEME = String.raw`(?i:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|sso-key)`;
const AUTH_SEP = String.raw`(?:[ \t]+|%20)`;
/**
 * With a scheme the credential needs 8+ characters, so "Authorization: Bearer header" in prose
 * survives; without one, 12+, so that "Authorization: Bearer" (scheme, no value) does not
 * have its scheme word taken for a credential.
 */
const AUTH_CREDENTIAL = `(?:${pre(AUTH_SCHEME + AUTH_SEP)}${TOKEN68}{8,}|${TOKEN68}{12,})`;
const AUTH_HEADER = assignment(String.raw`(?i:(?:proxy-)?authorization)`, {
  // Inside quotes the rest of the quoted value goes too (Digest parameters, trailing words).
  dq: String.raw`${AUTH_CREDENTIAL}(?:[^"\\\r\n]|\\.)*`,
  sq: String.raw`${AUTH_CREDENTIAL}[^'\r\n]*`,
  edq: String.raw`${AUTH_CREDENTIAL}(?:[^"\\\r\n]|\\[^"\r\n])*`,
  bare: AUTH_CREDENTIAL,
});
/**
 * A bearer token without the header name (`--header "X-Auth: Bearer ..."`, logs). 20+
 * characters: "Bearer tokens", "bearer authentication" are prose.
 */
const STANDALONE_BEARER = `${pre(`${LEAD_TEXT}(?i:bearer)${AUTH_SEP}`)}${TOKEN68}{20,}`;
/**
 * curl's `-u user:password` / `--user user:password`, which becomes a Basic header. \B
 * before the dash means the dash starts a word (after a space or a quote). The password
 * must hold a non-digit and the user must start with a letter, digit or "_", so docker's
 * `-u 1000:1000` and `-u "$(id -u):$(id -g)"` survive (named `-u app:app` does not: a
 * known false positive).
 */
const CURL_USER_NAME = '[A-Za-z0-9_]';
const CURL_USER =
  pre(String.raw`\B(?:-u|--user)(?:[ \t]+|=)?`) +
  '(?:' +
  pre(String.raw`${CURL_USER_NAME}[^\s:"'\\/$()]*:`) + String.raw`[^\s"'\\]*[^\s"'\\0-9][^\s"'\\]*|` +
  pre(String.raw`'${CURL_USER_NAME}[^'\r\n:$]*:`) + String.raw`[^'\r\n]+` + post("'") + '|' +
  pre(String.raw`"${CURL_USER_NAME}[^"\\\r\n:$]*:`) + String.raw`(?:[^"\\\r\n]|\\.)+` + post('"') + '|' +
  pre(String.raw`\\"${CURL_USER_NAME}[^"\\\r\n:$]*:`) + String.raw`(?:[^"\\\r\n]|\\[^"\r\n])+` + post(String.raw`\\"`) +
  ')';

// ------------------------------------------------------------------ the presets

const PRESET_DEFINITIONS: readonly Preset[] = [
  {
    name: 'anthropic-keys',
    description: 'Anthropic API, admin and OAuth keys (sk-ant-api03-..., sk-ant-admin01-..., sk-ant-oat01-...).',
    // The version segment (api03, admin01, oat01, ort01) is kept general: new kinds keep the shape.
    pattern: String.raw`sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{20,}`,
    action: 'redact',
  },
  {
    name: 'openai-keys',
    description: 'OpenAI API keys: legacy sk-..., project sk-proj-..., service-account sk-svcacct-... and admin keys.',
    // Legacy keys are letters and digits only, so "sk-ant-" (a dash after three characters)
    // never satisfies the second branch; prefixed kinds are listed, so "ant" is not one.
    pattern: String.raw`${LEAD}sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})`,
    action: 'redact',
  },
  {
    name: 'aws-access-key-ids',
    description: 'AWS access key ids (AKIA, ASIA, ABIA, ACCA followed by 16 upper-case letters or digits).',
    pattern: String.raw`${LEAD}(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`,
    action: 'redact',
  },
  {
    name: 'aws-secret-keys',
    description: 'AWS secret access keys assigned to aws_secret_access_key, AWS_SECRET_ACCESS_KEY or SecretAccessKey.',
    // A bare 40-character base64 string is indistinguishable from other data, so the key
    // name is required; it is matched and kept.
    pattern: assignment(
      String.raw`(?i:(?:aws[_.-]?)?secret[_.-]?access[_.-]?key)`,
      anyQuoting(String.raw`[A-Za-z0-9/+]{40}[A-Za-z0-9/+=]*`),
    ),
    action: 'redact',
  },
  {
    name: 'github-tokens',
    description: 'GitHub tokens: classic and OAuth (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained github_pat_ tokens.',
    // Pre-2021 tokens (40 hex) look like commit SHAs and are left to secret-assignments.
    pattern: String.raw`(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{20,})`,
    action: 'redact',
  },
  {
    name: 'gitlab-tokens',
    description: 'GitLab tokens: personal, deploy, runner, CI job, trigger, feed, agent, OAuth and other gl*- prefixes.',
    // "." for routable tokens (glpat-<base64>.01.<suffix>); GR1348941 is the runner registration prefix.
    pattern: String.raw`(?:gl(?:pat|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|oas|ffct|wt|sst)-[A-Za-z0-9_.-]{20,}|GR1348941[A-Za-z0-9_-]{20,})`,
    action: 'redact',
  },
  {
    name: 'slack-tokens',
    description: 'Slack bot, user, app, refresh and configuration tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xapp-).',
    pattern: String.raw`(?:xoxe\.xox[bp]-[A-Za-z0-9-]{10,}|xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})`,
    action: 'redact',
  },
  {
    name: 'slack-webhooks',
    description: 'Slack incoming-webhook and workflow URLs (hooks.slack.com/services/T.../B.../...).',
    // The path is the credential; scheme, host and kind are kept.
    pattern: pre(String.raw`(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/`) + String.raw`T[A-Za-z0-9_]+/[A-Za-z0-9_/-]+`,
    action: 'redact',
  },
  {
    name: 'stripe-keys',
    description: 'Stripe secret, restricted and publishable keys (sk_live_, sk_test_, rk_live_, pk_live_ ...) and webhook secrets (whsec_).',
    // LEAD: "disk_test_..." contains "sk_test_".
    pattern: String.raw`${LEAD}(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})`,
    action: 'redact',
  },
  {
    name: 'google-api-keys',
    description: 'Google API keys (AIza followed by 35 characters).',
    pattern: String.raw`AIza[A-Za-z0-9_-]{35}`,
    action: 'redact',
  },
  {
    name: 'npm-tokens',
    description: 'npm access tokens (npm_ followed by 36 letters and digits).',
    pattern: String.raw`${LEAD}npm_[A-Za-z0-9]{36}`,
    action: 'redact',
  },
  {
    name: 'huggingface-tokens',
    description: 'Hugging Face access tokens (hf_ followed by 30 or more letters and digits).',
    // LEAD: snake_case identifiers such as load_hf_... contain "hf_".
    pattern: String.raw`${LEAD}hf_[A-Za-z0-9]{30,}`,
    action: 'redact',
  },
  {
    name: 'sendgrid-keys',
    description: 'SendGrid API keys (SG.<id>.<secret>).',
    pattern: String.raw`${LEAD}SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`,
    action: 'redact',
  },
  {
    name: 'azure-storage-keys',
    description: 'Azure storage and Service Bus keys in connection strings (AccountKey=, SharedAccessKey=) and SAS signatures (sig=).',
    // The key name is kept, so the connection string reads "...;AccountKey=[REDACTED:...];EndpointSuffix=...".
    pattern:
      `(?:${pre(String.raw`(?i:AccountKey|SharedAccessKey)[ \t]*=[ \t]*`)}[A-Za-z0-9+/]{40,}={0,2}|` +
      `${pre(String.raw`${LEAD_TEXT}sig=`)}[A-Za-z0-9%+/=]{30,})`,
    action: 'redact',
  },
  {
    name: 'jwts',
    description: 'JSON Web Tokens (eyJ... header, payload and signature; also five-part JWE).',
    // "eyJ" is base64 for '{"'; the signature may be empty (alg none).
    pattern: String.raw`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?`,
    action: 'redact',
  },
  {
    name: 'private-keys',
    description: 'PEM and OpenSSH private key blocks, from BEGIN ... PRIVATE KEY to END, across lines.',
    // BEGIN and END lines are kept. First branch: the whole block (lazy, so two keys are two
    // matches). Second branch: a block cut off before its END line (head -n, truncated
    // error strings) loses the base64 body that follows, including JSON \n escapes.
    pattern:
      pre(String.raw`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`) +
      '(?:' +
      String.raw`(?s:.*?)` + post(String.raw`-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`) + '|' +
      String.raw`(?:[A-Za-z0-9+/=\s]|\\[nrt\\])*)`,
    action: 'redact',
  },
  {
    name: 'authorization-headers',
    description: 'Authorization header values (scheme and credential) in header, curl, JSON and env forms, bare bearer tokens, and curl -u user:password.',
    // Header name and scheme are kept: `curl -H "Authorization: Bearer x"` becomes
    // `curl -H "Authorization: Bearer [REDACTED:authorization-headers]"`; `curl -u user:pw`
    // keeps the user (an e-mail address there is hashed by email-addresses).
    pattern: `(?:${AUTH_HEADER}|${STANDALONE_BEARER}|${CURL_USER})`,
    action: 'redact',
  },
  {
    name: 'url-credentials',
    description: 'user:password@ credentials inside URLs (https, git, postgres, redis, mongodb+srv ...).',
    // Only the password goes: `https://u:p@host/x` becomes `https://u:[REDACTED:url-credentials]@host/x`.
    // "//" is required so that image digests (node:24@sha256:...) and "mailto:bob@..." are left
    // alone. The password may hold "@" (greedy to the last "@" before the path); it must be
    // non-empty and not start with "[" (an earlier preset's marker), the user may be empty
    // (redis://:pw@host).
    pattern: pre(String.raw`//[^\s/?#@:"'\\<>]*:`) + String.raw`[^\s/?#"'\\<>\[][^\s/?#"'\\<>]*` + post('@'),
    action: 'redact',
  },
  {
    name: 'secret-assignments',
    description: 'Values assigned to keys such as password, secret, token, api_key, access_key or client_secret in shell, env, YAML, JSON and CLI-flag form.',
    pattern: `${pre(OPTIONAL_ESCAPE)}(?:${assignment(SECRET_KEY, GENERIC_VALUE)}|${SECRET_FLAG})`,
    action: 'redact',
  },
  {
    name: 'email-addresses',
    description: 'E-mail addresses, replaced by a keyed hash so per-person analysis still works.',
    // The first domain label must start with a letter: icon@2x.png, pkg@1.2.3 and Vertex
    // model ids (claude-...@20251001) are not addresses. The hash covers the address only
    // (group "value"), so "\nalice@..." and "alice@..." hash alike.
    pattern: `${OPTIONAL_ESCAPE}(?P<${HASHED_GROUP}>` + String.raw`[A-Za-z0-9._%+-]+@[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})`,
    action: 'hash',
  },
];

export const PRESETS: readonly Preset[] = PRESET_DEFINITIONS.map((preset) => ({ ...preset, pattern: numberKeepGroups(preset.pattern) }));

const BY_NAME: ReadonlyMap<PresetName, Preset> = new Map(PRESETS.map((preset) => [preset.name, preset]));

export function presetByName(name: PresetName): Preset {
  const preset = BY_NAME.get(name);
  if (!preset) {
    throw new Error(`no sanitizer preset named "${name}"; known presets: ${PRESET_NAMES.join(', ')}`);
  }
  return preset;
}
