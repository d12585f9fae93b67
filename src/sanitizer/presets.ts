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

/** A line break as written, or as a JSON escape inside an encoded attribute. */
const NEWLINE = String.raw`(?:\r?\n|\\r\\n|\\n)`;

/**
 * Between a bare key and its value: shell/env/ini "=", Go ":=", Makefile "::=", ":::=", "?="
 * and "+=", PHP ".=", Ruby/logstash "=>", a typed declaration (Go `var k string = `, Kotlin
 * `val k: String = `, Rust `const K: &str = `), a
 * CSV comma (no space: `k, v` in prose and argument lists is not an assignment), a YAML block
 * scalar (`k: |` with the value indented on the next line), and YAML's colon. The colon needs a
 * space after it where {@link AssignmentOptions.colonNeedsSpace} says so, so that package
 * coordinates (io.jsonwebtoken:jjwt-jackson:0.11.2) are not read as `token: value`.
 */
function bareOperator(colonNeedsSpace: boolean): string {
  return (
    String.raw`[ \t]*(?::{1,3}=|[?+.]=|=>|=)[ \t]*|(?:[ \t]*:[ \t]*|[ \t]+)(?:string|String|str|&str|&'static str)[ \t]*=[ \t]*|,|` +
    String.raw`[ \t]*:[ \t]*[|>][-+]?[ \t]*${NEWLINE}[ \t]+|` +
    (colonNeedsSpace ? String.raw`[ \t]*:[ \t]+` : String.raw`[ \t]*:[ \t]*`)
  );
}
/** Between a key in quotes and its quoted value: JSON/YAML ":", "=", logstash "=>", and the comma of `setProperty("K", "v")`. */
const QUOTED_OP = String.raw`[ \t]*(?:=>|[:=,])[ \t]*`;

/** What a value may look like in each quoting context; none of them includes its quotes. */
interface ValueShapes {
  /** Inside "..." (backslash escapes allowed). */
  readonly dq: string;
  /** Inside '...' (no escapes, as in shell). */
  readonly sq: string;
  /** Inside \"...\" (or \\\"...\\\"), i.e. a double-quoted value inside a JSON-encoded string. */
  readonly edq: string;
  /** Inside `...` (Go raw strings, JS templates). */
  readonly bt: string;
  /** Unquoted. */
  readonly bare: string;
}

interface AssignmentOptions {
  /** A bare key's ":" must be followed by a space (see {@link bareOperator}). */
  readonly colonNeedsSpace: boolean;
}

/** One or more backslashes before a quote: \" in a JSON string, \\\" in JSON inside JSON. */
const ESCAPED_QUOTE = String.raw`\\+"`;

/**
 * `key <op> value` in every quoting style. The key, the operator and the quotes are kept;
 * only the value is replaced:
 * - key quoted (JSON `"api_key": "v"`, Python `'api_key': 'v'`, escaped `\"api_key\": \"v\"`,
 *   Java `setProperty("API_KEY", "v")`): the match runs from the key name to the end of the
 *   value; the key's opening and the value's closing quote lie outside the match, so
 *   `{"api_key": "[REDACTED:x]"}`.
 * - key bare (shell, env, YAML, ini, Makefile, Go, PHP, `--flag=`): the value's own quotes are
 *   matched as a pair and kept.
 */
function assignment(key: string, value: ValueShapes, options: AssignmentOptions = { colonNeedsSpace: false }): string {
  return (
    `${pre(key)}(?:` +
    `${pre(`"${QUOTED_OP}"`)}${value.dq}|${pre(`'${QUOTED_OP}'`)}${value.sq}|${pre(ESCAPED_QUOTE + QUOTED_OP + ESCAPED_QUOTE)}${value.edq}|` +
    `${pre(`(?:${bareOperator(options.colonNeedsSpace)})`)}(?:${quoted(value)}|${value.bare})|` +
    `${pre(String.raw`[ \t]*:[ \t]*`)}(?:${quoted(value)}))`
  );
}

/** A value in its own quotes, the quotes kept: "v", 'v', \"v\", `v`. */
function quoted(value: Omit<ValueShapes, 'bare'>): string {
  const dq = '"';
  const bt = '`';
  return (
    `${pre(dq)}${value.dq}${post(dq)}|${pre("'")}${value.sq}${post("'")}|` +
    `${pre(ESCAPED_QUOTE)}${value.edq}${post(ESCAPED_QUOTE)}|${pre(bt)}${value.bt}${post(bt)}`
  );
}

/** Same value shapes for every quoting context (token alphabets hold no quotes or backslashes). */
function anyQuoting(body: string): ValueShapes {
  return { dq: body, sq: body, edq: body, bt: body, bare: body };
}

// ------------------------------------------------------------------ generic assignments

/**
 * Key names that announce a secret. A key matches when it *ends* in one of these, so
 * DB_PASSWORD, PGPASSWORD, GH_TOKEN, client_secret, accessToken, x-api-key and --password
 * match, while input_tokens, max_tokens, token_count, tokenizer, secretName, secretKeyRef,
 * passwordless and apiKeyHelper do not (the keyword must be followed by the operator).
 * "pass" and "pwd" only count after a separator (DB_PASS, DB_PWD, --pass): bare PWD and
 * OLDPWD are the shell's working directory and "bypass" is not a password; "auth" likewise
 * (REDIS_AUTH, basic_auth, Docker's "auth"), so that oauth is not; "signature" after a
 * separator (X-Amz-Signature of a presigned URL). "credentials" is not a keyword:
 * GOOGLE_APPLICATION_CREDENTIALS=/path/key.json names a file.
 */
const SECRET_KEYWORD = String.raw`(?i:pass(?:word|wd|phrase)|[_.-]pass|[_.-]pwd|secret(?:[_.-]?key(?:[_.-]?base)?)?|token|api[_.-]?key|(?:access|private|signing|encryption|master|client|auth)[_.-]?key|(?:[_.-]|\b)auth|[_.-]signature)`;
const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*${SECRET_KEYWORD}`;

/**
 * The first character of a generic value may not be whitespace, a quote, a backslash, or
 * start a placeholder or a masked value: $TOKEN, ${TOKEN}, $(cmd), {{ .Values.x }},
 * <your-token>, [REDACTED:...] (an earlier preset already did the job), ****, %(pw)s.
 */
const NOT_PLACEHOLDER = String.raw`$\[{<*%`;
/**
 * A generic value must hold a digit or a symbol: one made only of letters, "_", "." and "-"
 * is a reference or a placeholder far more often than a credential (var.db_password,
 * random_password.db.result, get_api_key, YOUR_API_KEY, changeme, api-key, string), while
 * generated secrets and most chosen passwords hold a digit or a symbol. Values need at least
 * 3 characters (or 2 with a symbol right after the first): `token: ""` is not a secret.
 */
const STRONG = String.raw`0-9+/=!#%&*:;?@^~$|,(){}<>\[\]`;
/** In quotes a space counts too: a passphrase ('correct horse battery staple') is a secret. */
const STRONG_QUOTED = String.raw`${STRONG} \t`;
/** STRONG minus what may not start a value or may not appear in an unquoted one. */
const STRONG_FIRST = String.raw`0-9+/=!#&:;?@^~|,()`;
const STRONG_BARE = String.raw`0-9+/=!#%*:?@^~$,{}`;
const STRONG_BARE_FIRST = String.raw`0-9+/=!#:?@^~,`;

/** A value of first-character class `first` and following characters `rest` that holds a STRONG character. */
function credentialLike(first: string, rest: string, strong: string, strongFirst: string): string {
  return `(?:[${strongFirst}](?:${rest}){2,}|[${first}][${strong}](?:${rest})+|[${first}](?:${rest})+[${strong}](?:${rest})*)`;
}

const GENERIC_VALUE: ValueShapes = {
  dq: credentialLike(String.raw`^"\\\s${NOT_PLACEHOLDER}`, String.raw`[^"\\\r\n]|\\.`, STRONG_QUOTED, STRONG_FIRST),
  sq: credentialLike(String.raw`^'\\\s${NOT_PLACEHOLDER}`, String.raw`[^'\r\n]`, STRONG_QUOTED, STRONG_FIRST),
  // Inside a JSON-encoded string the value ends at the next backslash (the escaped closing quote).
  edq: credentialLike(String.raw`^"\\\s${NOT_PLACEHOLDER}`, String.raw`[^"\\\r\n]`, STRONG_QUOTED, STRONG_FIRST),
  bt: credentialLike(String.raw`^${'`'}\\\s${NOT_PLACEHOLDER}`, String.raw`[^${'`'}\r\n]`, STRONG_QUOTED, STRONG_FIRST),
  // Unquoted: ends at whitespace, a quote, a backslash (JSON escape), a shell operator or a
  // bracket (get_token(), os.environ["K"] are code). A leading "-" is refused so that
  // `--password --verbose` does not take the next flag.
  bare: credentialLike(String.raw`^\s"'\\;&|<>${'`'}()${NOT_PLACEHOLDER}-`, String.raw`[^\s"'\\;&|<>${'`'}()\[\]]`, STRONG_BARE, STRONG_BARE_FIRST),
};

/**
 * A key and its value as XML attributes: NuGet's `<add key="ClearTextPassword" value="v" />`,
 * .NET appSettings `<add key="ApiKey" value="v" />` (quotes possibly escaped).
 */
const SECRET_ATTRIBUTE_PAIR = pre(String.raw`(?i:key|name)=\\*"${SECRET_KEY}\\*"[ \t]+(?i:value)=\\*"`) + GENERIC_VALUE.edq;

/** `--password hunter2`, `--token "x"`: a flag (leading dash) whose value follows a space. */
const SECRET_FLAG = `${pre(String.raw`-[A-Za-z0-9_.-]*${SECRET_KEYWORD}[ \t]+`)}(?:${quoted(GENERIC_VALUE)}|${GENERIC_VALUE.bare})`;

/**
 * An XML element named like a secret, its value on the same line or indented on the next
 * (`<apiToken>\n    v\n</apiToken>`): the opening tag and the whitespace are kept.
 */
const SECRET_ELEMENT =
  pre(String.raw`<${SECRET_KEY}>(?:[ \t\r\n]|\\[nrt])*`) +
  credentialLike(String.raw`^<\s"'\\${NOT_PLACEHOLDER}`, String.raw`[^<\s"'\\]`, STRONG_BARE, STRONG_BARE_FIRST);

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
  bt: String.raw`${AUTH_CREDENTIAL}[^${'`'}\r\n]*`,
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

/** A base64 value of a Kubernetes Secret's data (8+ characters; "e30=" and short flags are not secrets). */
const K8S_BASE64 = String.raw`[A-Za-z0-9+/]{8,}={0,2}`;
/**
 * The first data value and every entry after it: keep-groups cannot repeat, so the entries
 * after the first go with it, names included (`data:\n  a: [REDACTED:...]`), rather than leaving
 * all but the first value in clear.
 */
const K8S_DATA_VALUE = String.raw`${K8S_BASE64}(?:\\*["'])?(?:${NEWLINE}[ \t]+[A-Za-z0-9_.-]+:[ \t]*(?:\\*["'])?${K8S_BASE64}(?:\\*["'])?)*`;

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
    description: 'AWS access key ids (AKIA, ASIA, ABIA, ACCA, A3T. followed by 16 upper-case letters or digits).',
    pattern: String.raw`${LEAD}(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}`,
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
    pattern: String.raw`${LEAD}(?:(?:sk|rk|pk)_(?:live|test|prod)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})`,
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
    description: 'Hugging Face user access tokens (hf_ followed by 34 letters) and organization tokens (api_org_...).',
    // LEAD and the closing \b: C identifiers such as hf_register_info or load_hf_model contain
    // "hf_" but never 30+ letters and digits with no underscore.
    pattern: String.raw`${LEAD}(?:hf|api_org)_[A-Za-z0-9]{30,40}\b`,
    action: 'redact',
  },
  {
    name: 'sendgrid-keys',
    description: 'SendGrid API keys (SG.<id>.<secret>).',
    pattern: String.raw`${LEAD}SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`,
    action: 'redact',
  },
  {
    name: 'saas-api-keys',
    description: 'Messaging, e-mail, payment and commerce API keys: Mailgun (key-...), Mailchimp (...-us1), Brevo (xkeysib-...), Shopify (shpat_, shpss_, shpca_, shppa_), Square (sq0atp-, EAAA), Shippo, Duffel, EasyPost, Flutterwave, Facebook page tokens (EAAM...), Adobe (p8e-) and MaxMind (..._mmk).',
    // Fixed lengths and a closing \b: a longer hex run (a SHA) is not a key with a prefix.
    pattern:
      String.raw`${LEAD}(?:(?:pub)?key-[0-9a-f]{32}|[0-9a-f]{32}-us[0-9]{1,2}|` +
      String.raw`x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_-]{60}|` +
      // Shippo, Duffel, EasyPost, Flutterwave, Facebook page tokens, Adobe, MaxMind.
      String.raw`shippo_(?:live|test)_[a-fA-F0-9]{40}|duffel_(?:test|live)_[A-Za-z0-9_=-]{43}|EZ[AT]K[A-Za-z0-9]{54}|FLW(?:PUB|SEC)K(?:_TEST)?-[a-h0-9]{32}-X|` +
      String.raw`EAA[MC][A-Za-z0-9]{100,}|p8e-[A-Za-z0-9]{32}|[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk)\b`,
    action: 'redact',
  },
  {
    name: 'dev-platform-tokens',
    description: 'Developer platform tokens: PyPI (pypi-AgEIcHlwaS5vcmc...), RubyGems, Docker Hub (dckr_pat_), Sourcegraph (sgp_), Postman (PMAK-), Linear (lin_api_), Atlassian (ATATT3...), Figma (figd_), Notion (ntn_, secret_ + 43), Clojars, ReadMe, Prefect, Typeform, Terraform Cloud (.atlasv1.), Artifactory, Infracost, OpenShift (sha256~), Scalingo, Frame.io, SettleMint, Grafana API keys, Mapbox secret tokens (sk.eyJ...), Contentful (CFPAT-), Netlify (nfp_), Buildkite (bkua_), CircleCI (CCIPAT_), Bitbucket (ATBB) and PostHog (phx_).',
    // Notion's legacy secret_ tokens are exactly 43 letters and digits: identifiers such as
    // secret_key_base have underscores in that stretch.
    pattern:
      String.raw`${LEAD}(?:pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}|rubygems_[a-f0-9]{48}\b|dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}|` +
      String.raw`sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}\b|PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}\b|lin_(?:api|oauth)_[A-Za-z0-9]{40}\b|` +
      String.raw`AT[AC]TT3[A-Za-z0-9_=-]{150,}|fig[dou]_[A-Za-z0-9_-]{40,}|ntn_[0-9]{11}[A-Za-z0-9]{35}\b|secret_[A-Za-z0-9]{43}\b|` +
      // Clojars, ReadMe, Prefect, Typeform, Terraform Cloud, Artifactory, Infracost, OpenShift,
      // Scalingo, Frame.io, SettleMint, Grafana API keys.
      String.raw`CLOJARS_[A-Za-z0-9]{60}|rdme_[a-z0-9]{70}|pnu_[A-Za-z0-9]{36}\b|tfp_[A-Za-z0-9_.=-]{59}|[a-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|` +
      String.raw`AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56}|` +
      String.raw`ico-[A-Za-z0-9]{32}\b|sha256~[A-Za-z0-9_-]{43}|tk-us-[A-Za-z0-9_-]{48}|fio-u-[A-Za-z0-9_=-]{64}|` +
      String.raw`sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}\b|eyJrIjoi[A-Za-z0-9]{70,400}={0,3}|` +
      // Mapbox secret tokens, Contentful, Netlify, Buildkite, CircleCI, Bitbucket app passwords, PostHog.
      String.raw`sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}|CFPAT-[A-Za-z0-9_-]{43}|nfp_[A-Za-z0-9]{36}\b|bkua_[a-f0-9]{40}\b|` +
      String.raw`CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}\b|ATBB[A-Za-z0-9_=.-]{32,}|phx_[A-Za-z0-9]{43}\b)`,
    action: 'redact',
  },
  {
    name: 'cloud-platform-tokens',
    description: 'Cloud and infrastructure tokens: Azure AD client secrets (...Q~...), Google OAuth (ya29., 1//), DigitalOcean (dop_v1_), Databricks (dapi), Heroku (HRKU-), PlanetScale, Pulumi (pul-), Doppler (dp.pt.), Vault (hvs., hvb.), 1Password (ops_, A3-), age keys, Grafana (glsa_, glc_), New Relic (NRAK-), Sentry (sntryu_, sntrys_), Alibaba (LTAI), Dynatrace (dt0c01.), Cloudflare origin CA (v1.0-), Fly.io, Yandex, Google OAuth client secrets (GOCSPX-), Render (rnd_), Supabase (sbp_, sb_secret_).',
    pattern:
      String.raw`${LEAD}(?:[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}|ya29\.[A-Za-z0-9_-]{30,}|1//0[A-Za-z0-9_-]{40,}|` +
      String.raw`do[opr]_v1_[a-f0-9]{64}\b|dapi[a-f0-9]{32}(?:-[0-9]+)?\b|HRKU-AA[A-Za-z0-9_-]{58}|pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}|` +
      String.raw`pul-[a-f0-9]{40}\b|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}|hvs\.[A-Za-z0-9_-]{90,}|hvb\.[A-Za-z0-9_-]{138,}|` +
      String.raw`ops_eyJ[A-Za-z0-9+/]{250,}={0,3}|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}|` +
      String.raw`glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b|glc_[A-Za-z0-9+/]{32,}={0,3}|NRAK-[A-Z0-9]{27}\b|NRII-[A-Za-z0-9-]{32}|` +
      String.raw`sntryu_[a-f0-9]{64}\b|sntrys_eyJ[A-Za-z0-9+/=_]{50,}|` +
      // Alibaba, Dynatrace, Cloudflare origin CA, Fly.io, Yandex, 1Password secret keys, Google
      // OAuth client secrets, Render, Supabase.
      String.raw`LTAI[A-Za-z0-9]{20}\b|dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}|v1\.0-[a-f0-9]{24}-[a-f0-9]{146}|FlyV1 fm[12][ar]?_[A-Za-z0-9+/=,_-]{100,}|fo1_[A-Za-z0-9_-]{43}|` +
      String.raw`AQVN[A-Za-z0-9_-]{35,38}|t1\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]{86}={0,2}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b|` +
      String.raw`GOCSPX-[A-Za-z0-9_-]{28}|rnd_[A-Za-z0-9]{32}\b|sbp_[a-f0-9]{40}\b|sb_secret_[A-Za-z0-9_-]{30,})`,
    action: 'redact',
  },
  {
    name: 'ai-platform-keys',
    description: 'AI platform keys besides OpenAI, Anthropic and Hugging Face: OpenRouter (sk-or-v1-), Groq (gsk_), Perplexity (pplx-), Replicate (r8_), xAI (xai-), LangSmith (lsv2_), Tavily (tvly-), Pinecone (pcsk_).',
    pattern:
      String.raw`${LEAD}(?:sk-or-v1-[a-f0-9]{64}|gsk_[A-Za-z0-9]{52}|pplx-[A-Za-z0-9]{48}|r8_[A-Za-z0-9]{37}|xai-[A-Za-z0-9]{80}|` +
      String.raw`lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|tvly-(?:dev-)?[A-Za-z0-9]{32}|pcsk_[A-Za-z0-9]{5,}_[A-Za-z0-9]{60,})\b`,
    action: 'redact',
  },
  {
    name: 'short-prefix-tokens',
    description: 'Tokens whose prefixes are short or common words: Twilio API keys and account SIDs (SK, AC + 32 hex), Airtable (pat + 14 characters + . + 64 hex), Harness (pat., sat.), Octopus Deploy (API-), legacy Vault (s. + 24 characters), Dropbox (sl.), Resend (re_), ElevenLabs (sk_ + 48 hex).',
    // Kept apart from the other families because a prefix such as "pat" or "s." occurs in most
    // text: in one pattern with the distinctive prefixes it would make a literal guard on that
    // pattern (compile.ts, preview.ts) pass almost every value.
    pattern:
      String.raw`${LEAD}(?:(?:SK|AC)[0-9a-f]{32}|pat[A-Za-z0-9]{14}\.[a-f0-9]{64}|(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}|` +
      String.raw`API-[A-Z0-9]{26}|s\.[A-Za-z0-9]{24}|sl\.[A-Za-z0-9_=-]{130,}|re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}|sk_[a-f0-9]{48})\b`,
    action: 'redact',
  },
  {
    name: 'chat-webhooks',
    description: 'Microsoft Teams (*.webhook.office.com/webhookb2/...) and Discord (discord.com/api/webhooks/<id>/<token>) webhook URLs.',
    // Scheme, host and the fixed path are kept; the path that carries the credential goes.
    pattern:
      pre(String.raw`(?:https?://)?(?:[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/`) + String.raw`[A-Za-z0-9@_-]+(?:/[A-Za-z0-9@_-]+)*|` +
      pre(String.raw`(?:https?://)?(?:ptb\.|canary\.)?discord(?:app)?\.com/api/(?:v[0-9]+/)?webhooks/[0-9]{17,20}/`) + String.raw`[A-Za-z0-9_-]{60,}`,
    action: 'redact',
  },
  {
    name: 'bot-tokens',
    description: 'Telegram bot tokens (bot id:AA..., both sides of the colon) and Discord bot tokens (base64 id.timestamp.hmac).',
    // Telegram: the id is kept out of the output too (it names the bot); "bot<id>:" in API URLs
    // keeps the "bot". Discord: the first part is the base64 of a 17-20 digit id, so it starts
    // with MD, MT, Mj, Mz, ND, NT, Nj, Nz, OD or OT (the base64 of two ASCII digits).
    pattern:
      pre(String.raw`\\[nrt]|\b|bot`) + String.raw`(?:[0-9]{8,10}:AA[A-Za-z0-9_-]{33}|(?:[MN][DTjz]|O[DT])[A-Za-z0-9_-]{22,24}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b)`,
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
    description: 'JSON Web Tokens (eyJ... header, payload and signature; also five-part JWE), raw or base64-encoded again (ZXlK...).',
    // "eyJ" is base64 for '{"'; the signature may be empty (alg none). "ZXlK" is base64 of "eyJ":
    // a JWT stored base64-encoded (Kubernetes Secrets, config blobs).
    pattern: String.raw`(?:eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?|${LEAD}ZXlK[A-Za-z0-9+/]{40,}={0,2})`,
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
    name: 'kubernetes-secret-data',
    description: 'The base64 values under data: in a Kubernetes Secret manifest, as written (kind before data) and as kubectl get -o yaml prints it (data first); entries after the first are replaced together with it.',
    // RE2 cannot look around, so the manifest's "kind: Secret" is matched inside a keep-group,
    // before "data:" or after it; a ConfigMap's data is left alone. (A bounded distance,
    // .{0,200}, would be closer but costs RE2 a state per character: 200 times the CPU here.)
    // The entries after the first are replaced with it (see K8S_DATA_VALUE).
    pattern:
      `(?:${pre(String.raw`(?:\b|\\[nrt])kind:[ \t]*(?:\\*["'])?Secret(?:\\*["'])?(?s:.)*?(?:\b|\\[nrt])data:[ \t]*${NEWLINE}[ \t]+[A-Za-z0-9_.-]+:[ \t]*(?:\\*["'])?`)}${K8S_DATA_VALUE}|` +
      `${pre(String.raw`(?:\b|\\[nrt])data:[ \t]*${NEWLINE}[ \t]+[A-Za-z0-9_.-]+:[ \t]*(?:\\*["'])?`)}${K8S_DATA_VALUE}${post(String.raw`(?s:.)*?(?:\b|\\[nrt])kind:[ \t]*(?:\\*["'])?Secret\b`)})`,
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
    description: 'Values assigned to keys such as password, secret, token, api_key, access_key or client_secret: shell, env, YAML (also block scalars), JSON (also escaped), Makefile (?=, ::=, :::=, +=), PHP .=, Go (:=, backticks, var k string =), Java setProperty, XML elements and key/value attributes, CSV and CLI flags. Values made only of letters, "_", "." and "-" (no digit, symbol or, in quotes, space) are taken for references or placeholders and kept.',
    pattern: `${pre(OPTIONAL_ESCAPE)}(?:${assignment(SECRET_KEY, GENERIC_VALUE, { colonNeedsSpace: true })}|${SECRET_FLAG}|${SECRET_ELEMENT}|${SECRET_ATTRIBUTE_PAIR})`,
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
