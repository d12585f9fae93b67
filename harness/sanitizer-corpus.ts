/**
 * The sanitizer's test corpus: fake but correctly shaped secrets per preset, and values that
 * analysis depends on which must survive byte for byte. Secrets are assembled in code so that
 * no literal here looks like a live credential. Used by the preset tests, the CLI tests and
 * the preview benchmark.
 */
import type { PresetName } from '../src/api/presets.ts';

// ------------------------------------------------------------------ helpers

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const BASE64 = ALNUM + '+/';
const BASE64URL = ALNUM + '-_';

/** A deterministic string of n characters from an alphabet, varied enough to look random. */
export function filler(n: number, alphabet = ALNUM, seed = 7): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[(i * 31 + seed * 17 + ((i * i) % 13)) % alphabet.length];
  return out;
}

/** A bash command as Claude Code sends it: JSON inside the tool_parameters attribute. */
export function asToolParameters(command: string): string {
  return JSON.stringify({ bash_command: command, description: 'Run it', git_commit_id: 'e83c516' });
}

export interface Sample {
  readonly text: string;
  /** The part that must not survive. */
  readonly secret: string;
}
const s = (text: string, secret: string): Sample => ({ text, secret });

// ------------------------------------------------------------------ fake secrets

export const anthropicApi = 'sk-ant-api03-' + filler(93, BASE64URL, 1) + 'AA';
const anthropicAdmin = 'sk-ant-admin01-' + filler(93, BASE64URL, 2) + 'AA';
const anthropicOauth = 'sk-ant-oat01-' + filler(95, BASE64URL, 3);
const openaiProject = 'sk-proj-' + filler(156, BASE64URL, 4);
const openaiLegacy = 'sk-' + filler(20, ALNUM, 5) + 'T3Blbk' + 'FJ' + filler(20, ALNUM, 6);
const openaiService = 'sk-svcacct-' + filler(120, BASE64URL, 7);
const openaiAdmin = 'sk-admin-' + filler(100, BASE64URL, 8);
export const akia = 'AKIA' + filler(16, UPPER + DIGITS, 9);
const asia = 'ASIA' + filler(16, UPPER + DIGITS, 10);
const abia = 'ABIA' + filler(16, UPPER + DIGITS, 11);
const acca = 'ACCA' + filler(16, UPPER + DIGITS, 12);
export const awsSecret = filler(40, BASE64, 13);
export const ghp = 'ghp_' + filler(36, ALNUM, 14);
const gho = 'gho_' + filler(36, ALNUM, 15);
const ghs = 'ghs_' + filler(36, ALNUM, 16);
const ghu = 'ghu_' + filler(36, ALNUM, 17);
const ghr = 'ghr_' + filler(36, ALNUM, 18);
const githubPat = 'github_pat_' + filler(22, ALNUM, 19) + '_' + filler(59, ALNUM, 20);
const glpat = 'glpat-' + filler(20, BASE64URL, 21);
const gldt = 'gldt-' + filler(20, BASE64URL, 22);
const glrt = 'glrt-' + filler(20, BASE64URL, 23);
const glRunnerRegistration = 'GR1348941' + filler(20, BASE64URL, 24);
const xoxb = 'xoxb-' + filler(12, DIGITS, 25) + '-' + filler(13, DIGITS, 26) + '-' + filler(24, ALNUM, 27);
const xoxp = 'xoxp-' + filler(12, DIGITS, 28) + '-' + filler(12, DIGITS, 29) + '-' + filler(32, LOWER + DIGITS, 30);
const xapp = 'xapp-1-A' + filler(10, UPPER + DIGITS, 31) + '-' + filler(13, DIGITS, 32) + '-' + filler(64, LOWER + DIGITS, 33);
const xoxeRefresh = 'xoxe.xoxp-1-' + filler(140, ALNUM, 34);
const slackHookPath = 'T' + filler(8, UPPER + DIGITS, 35) + '/B' + filler(10, UPPER + DIGITS, 36) + '/' + filler(24, ALNUM, 37);
const stripeSecret = 'sk_' + 'live_' + filler(24, ALNUM, 38);
const stripeTest = 'sk_' + 'test_' + filler(99, ALNUM, 39);
const stripeRestricted = 'rk_' + 'live_' + filler(24, ALNUM, 40);
const stripePublishable = 'pk_' + 'live_' + filler(24, ALNUM, 41);
const stripeWebhook = 'whsec_' + filler(32, ALNUM, 42);
const googleKey = 'AIza' + filler(35, BASE64URL, 43);
const googleKey2 = 'AIza' + filler(35, BASE64URL, 44);
const npmToken = 'npm_' + filler(36, ALNUM, 45);
const hfToken = 'hf_' + filler(34, ALNUM, 46);
const sendgrid = 'SG.' + filler(22, BASE64URL, 47) + '.' + filler(43, BASE64URL, 48);
export const azureAccountKey = filler(86, BASE64, 49) + '==';
const azureSharedKey = filler(43, BASE64, 50) + '=';
const azureSasSig = filler(40, ALNUM, 51) + '%2B' + filler(3, ALNUM, 52) + '%3D';
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
export const jwt = b64url({ alg: 'HS256', typ: 'JWT' }) + '.' + b64url({ sub: '1234567890', name: 'Fake User', iat: 1760000000 }) + '.' + filler(43, BASE64URL, 53);
const jwtRs = b64url({ alg: 'RS256', kid: 'k1' }) + '.' + b64url({ iss: 'https://idp.example.com', aud: 'app' }) + '.' + filler(342, BASE64URL, 54);
const jwtNone = b64url({ alg: 'none' }) + '.' + b64url({ sub: 'svc', scope: 'read' }) + '.';
export const pemLine = (seed: number) => filler(64, BASE64, seed);
export const pem = (kind: string, lines: string[], newline = '\n') =>
  ['-----BEGIN ' + kind + ' KEY-----', ...lines, '-----END ' + kind + ' KEY-----'].join(newline);
export const bearer = 'abc' + filler(37, BASE64URL, 55);
const basic = Buffer.from('svc-user:' + filler(16, ALNUM, 56)).toString('base64');
export const password = 'Pw-' + filler(13, ALNUM, 57) + '!';
export const shortPassword = 'hunter2';
export const genericValue = filler(32, LOWER + DIGITS, 58);

const HEX = DIGITS + 'abcdef';
const mailgun = 'key-' + filler(32, HEX, 70);
const shopify = 'shp' + 'at_' + filler(32, HEX, 71);
const brevo = 'xkeysib-' + filler(64, HEX, 72) + '-' + filler(16, ALNUM, 73);
const mailchimp = filler(32, HEX, 74) + '-us' + '14';
const squareToken = 'sq0atp-' + filler(22, BASE64URL, 75);
const pypiToken = 'pypi-AgEIcHlwaS5vcmc' + filler(70, BASE64URL, 76);
const sourcegraph = 'sgp_' + filler(16, HEX, 77) + '_' + filler(40, HEX, 78);
const notionToken = 'ntn_' + filler(11, DIGITS, 79) + filler(35, ALNUM, 80);
const dockerPat = 'dckr_' + 'pat_' + filler(27, BASE64URL, 81);
const linearKey = 'lin_api_' + filler(40, ALNUM, 82);
const doToken = 'dop_' + 'v1_' + filler(64, HEX, 83);
const dopplerToken = 'dp.pt.' + filler(43, ALNUM, 84);
const vaultToken = 'hvs.' + filler(95, BASE64URL, 85);
const databricksToken = 'dapi' + filler(32, HEX, 86);
const azureClientSecret = filler(3, ALNUM, 87) + '8Q~' + filler(34, ALNUM + '_~.-', 88);
const groqKey = 'gsk_' + filler(52, ALNUM, 89);
const openrouterKey = 'sk-or-v1-' + filler(64, HEX, 90);
const perplexityKey = 'pplx-' + filler(48, ALNUM, 91);
const replicateKey = 'r8_' + filler(37, ALNUM, 92);
const langsmithKey = 'lsv2_' + 'pt_' + filler(32, HEX, 93) + '_' + filler(10, HEX, 94);
const twilioKey = 'SK' + filler(32, HEX, 95);
const twilioSid = 'AC' + filler(32, HEX, 96);
const octopusKey = 'API-' + filler(26, UPPER + DIGITS, 97);
const airtablePat = 'pat' + filler(14, ALNUM, 98) + '.' + filler(64, HEX, 99);
const teamsPath = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d@f6e5d4c3-b2a1-4f0e-9d8c-7b6a5f4e3d2c/IncomingWebhook/' + filler(32, HEX, 100) + '/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const discordHookToken = filler(68, BASE64URL, 101);
export const telegramToken = '7012345678:AA' + filler(33, BASE64URL, 102);
const discordBot = Buffer.from('123456789012345678').toString('base64') + '.' + filler(6, BASE64URL, 103) + '.' + filler(38, BASE64URL, 104);
const k8sValue = Buffer.from('Pw-' + filler(20, ALNUM, 105)).toString('base64');

// ------------------------------------------------------------------ must match

export const SAMPLES: Record<PresetName, readonly Sample[]> = {
  'anthropic-keys': [
    s(`export ANTHROPIC_API_KEY=${anthropicApi}`, anthropicApi),
    s(`{"x-api-key":"${anthropicAdmin}","anthropic-version":"2023-06-01"}`, anthropicAdmin),
    s(`CLAUDE_CODE_OAUTH_TOKEN=${anthropicOauth} claude -p "summarise"`, anthropicOauth),
    s(`Error: invalid x-api-key ${anthropicApi.slice(0, 40)}`, anthropicApi.slice(0, 40)),
    s(`Please use this key for the eval run: ${anthropicAdmin}`, anthropicAdmin),
  ],
  'openai-keys': [
    s(`OPENAI_API_KEY=${openaiProject}`, openaiProject),
    s(`openai.api_key = "${openaiLegacy}"`, openaiLegacy),
    s(`curl https://api.openai.com/v1/models -H "Authorization: Bearer ${openaiService}"`, openaiService),
    s(`admin key ${openaiAdmin} rotated`, openaiAdmin),
    s(`python -c "import openai; openai.OpenAI(api_key='${openaiService}')"`, openaiService),
  ],
  'aws-access-key-ids': [
    s(`aws_access_key_id = ${akia}`, akia),
    s(`{"Credentials": {"AccessKeyId": "${asia}", "Expiration": "2026-01-15T10:30:00Z"}}`, asia),
    s(`export AWS_ACCESS_KEY_ID=${abia}`, abia),
    s(`aws configure set aws_access_key_id ${acca}`, acca),
    s(`An error occurred (InvalidClientTokenId): The security token included in the request is invalid: ${akia}`, akia),
  ],
  'aws-secret-keys': [
    s(`[default]\naws_access_key_id = ${akia}\naws_secret_access_key = ${awsSecret}\n`, awsSecret),
    s(`export AWS_SECRET_ACCESS_KEY="${awsSecret}"`, awsSecret),
    s(`{"AccessKeyId": "${asia}", "SecretAccessKey": "${awsSecret}", "SessionToken": "x"}`, awsSecret),
    s(`env:\n  AWS_SECRET_ACCESS_KEY: ${awsSecret}\n`, awsSecret),
    s(`aws configure set aws_secret_access_key ${awsSecret}`.replace(' aws_secret_access_key ', ' aws_secret_access_key='), awsSecret),
  ],
  'github-tokens': [
    s(`GH_TOKEN=${ghp} gh pr create --fill`, ghp),
    s(`git remote set-url origin https://x-access-token:${ghs}@github.com/acme/app.git`, ghs),
    s(`{"access_token":"${gho}","token_type":"bearer"}`, gho),
    s(`echo ${ghu} | gh auth login --with-token`, ghu),
    s(`refresh_token=${ghr}`, ghr),
    s(`export GITHUB_TOKEN=${githubPat}`, githubPat),
  ],
  'gitlab-tokens': [
    s(`curl --header "PRIVATE-TOKEN: ${glpat}" https://gitlab.example.com/api/v4/projects`, glpat),
    s(`git clone https://deploy:${gldt}@gitlab.example.com/group/app.git`, gldt),
    s(`gitlab-runner register --token ${glrt}`, glrt),
    s(`registration-token: ${glRunnerRegistration}`, glRunnerRegistration),
    s(`export CI_JOB_TOKEN_OVERRIDE=${glpat} && glab mr list`, glpat),
  ],
  'slack-tokens': [
    s(`SLACK_BOT_TOKEN=${xoxb}`, xoxb),
    s(`curl -H "Authorization: Bearer ${xoxp}" https://slack.com/api/auth.test`, xoxp),
    s(`{"app_token": "${xapp}"}`, xapp),
    s(`refresh with ${xoxeRefresh}`, xoxeRefresh),
    s(`slack_sdk.errors.SlackApiError: invalid_auth for token ${xoxb}`, xoxb),
  ],
  'slack-webhooks': [
    s(`curl -X POST -d '{"text":"deployed"}' https://hooks.slack.com/services/${slackHookPath}`, slackHookPath),
    s(`SLACK_WEBHOOK_URL=https://hooks.slack.com/services/${slackHookPath}`, slackHookPath),
    s(`{"webhook": "https://hooks.slack.com/services/${slackHookPath}"}`, slackHookPath),
    s(`notify:\n  url: hooks.slack.com/workflows/${slackHookPath}\n`, slackHookPath),
    s(`Error: POST https://hooks.slack.com/triggers/${slackHookPath} returned 404`, slackHookPath),
  ],
  'stripe-keys': [
    s(`STRIPE_SECRET_KEY=${stripeSecret}`, stripeSecret),
    s(`stripe.api_key = "${stripeTest}"`, stripeTest),
    s(`curl https://api.stripe.com/v1/charges -u ${stripeRestricted}:`, stripeRestricted),
    s(`{"publishableKey":"${stripePublishable}"}`, stripePublishable),
    s(`STRIPE_WEBHOOK_SECRET=${stripeWebhook}`, stripeWebhook),
  ],
  'google-api-keys': [
    s(`curl "https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=${googleKey}"`, googleKey),
    s(`GOOGLE_API_KEY=${googleKey2}`, googleKey2),
    s(`const firebaseConfig = { apiKey: "${googleKey}", projectId: "demo" };`, googleKey),
    s(`gcloud services api-keys get-key-string projects/p/keys/k: ${googleKey2}`, googleKey2),
    s(`Error 403: API key not valid. key=${googleKey}`, googleKey),
  ],
  'npm-tokens': [
    s(`//registry.npmjs.org/:_authToken=${npmToken}`, npmToken),
    s(`NPM_TOKEN=${npmToken} npm publish`, npmToken),
    s(`npm config set //registry.npmjs.org/:_authToken ${npmToken}`, npmToken),
    s(`echo "${npmToken}" | npm login --auth-type=legacy`, npmToken),
    s(`npm ERR! 401 Unauthorized - token ${npmToken} is expired`, npmToken),
  ],
  'huggingface-tokens': [
    s(`HF_TOKEN=${hfToken}`, hfToken),
    s(`huggingface-cli login --token ${hfToken}`, hfToken),
    s(`headers = {"Authorization": "Bearer ${hfToken}"}`, hfToken),
    s(`from huggingface_hub import login; login("${hfToken}")`, hfToken),
    s(`git clone https://user:${hfToken}@huggingface.co/datasets/acme/x`, hfToken),
  ],
  'sendgrid-keys': [
    s(`SENDGRID_API_KEY=${sendgrid}`, sendgrid),
    s(`sg = SendGridAPIClient("${sendgrid}")`, sendgrid),
    s(`curl -H "Authorization: Bearer ${sendgrid}" https://api.sendgrid.com/v3/mail/send`, sendgrid),
    s(`mail:\n  provider: sendgrid\n  key: ${sendgrid}\n`, sendgrid),
    s(`python3 send.py --sendgrid ${sendgrid}`, sendgrid),
  ],
  'saas-api-keys': [
    s(`curl -s --user "api:${mailgun}" https://api.mailgun.net/v3/domains`, mailgun),
    s(`shopify app deploy --token ${shopify}`, shopify),
    s(`{"brevo": {"apiKey": "${brevo}"}}`, brevo),
    s(`mailchimp.setConfig({ apiKey: '${mailchimp}', server: 'us14' })`, mailchimp),
    s(`SQUARE_ACCESS_TOKEN ?= ${squareToken}`, squareToken),
  ],
  'dev-platform-tokens': [
    s(`twine upload -u __token__ -p ${pypiToken} dist/*`, pypiToken),
    s(`src login https://sourcegraph.example.com ${sourcegraph}`, sourcegraph),
    s(`The integration secret is ${notionToken}, can you wire it up?`, notionToken),
    s(`echo ${dockerPat} | docker login -u acme --password-stdin`, dockerPat),
    s(`const linear = new LinearClient({ apiKey: \`${linearKey}\` })`, linearKey),
  ],
  'cloud-platform-tokens': [
    s(`doctl auth init -t ${doToken}`, doToken),
    s(`doppler configure set token ${dopplerToken}`, dopplerToken),
    s(`vault login ${vaultToken}`, vaultToken),
    s(`databricks configure --host https://x.cloud.databricks.com --token <<< ${databricksToken}`, databricksToken),
    s(`az login --service-principal -u 00000000-0000-0000-0000-000000000000 -p ${azureClientSecret} --tenant acme`, azureClientSecret),
  ],
  'ai-platform-keys': [
    s(`GROQ_API_KEY=${groqKey} python chat.py`, groqKey),
    s(`curl https://openrouter.ai/api/v1/models -H "x-key: ${openrouterKey}"`, openrouterKey),
    s(`client = OpenAI(api_key="${perplexityKey}", base_url="https://api.perplexity.ai")`, perplexityKey),
    s(`replicate run --token ${replicateKey} stability-ai/sdxl`, replicateKey),
    s(`$langsmith .= "${langsmithKey}";`, langsmithKey),
  ],
  'short-prefix-tokens': [
    s(`twilio login --api-key ${twilioKey}`, twilioKey),
    s(`Account ${twilioSid} is suspended`, twilioSid),
    s(`octo list-projects --server https://octo.example.com --apiKey ${octopusKey}`, octopusKey),
    s(`curl https://api.airtable.com/v0/meta/bases -H "X-Airtable: ${airtablePat}"`, airtablePat),
    s(`export TWILIO_SID=${twilioSid} TWILIO_KEY=${twilioKey}`, twilioKey),
  ],
  'chat-webhooks': [
    s(`curl -H "Content-Type: application/json" -d '{"text":"hi"}' https://acme.webhook.office.com/webhookb2/${teamsPath}`, teamsPath),
    s(`TEAMS_URL=https://acme.webhook.office.com/webhookb2/${teamsPath}`, teamsPath),
    s(`curl -X POST https://discord.com/api/webhooks/123456789012345678/${discordHookToken} -d content=deployed`, discordHookToken),
    s(`{"discord": "https://discordapp.com/api/webhooks/123456789012345678/${discordHookToken}"}`, discordHookToken),
    s(`notify:\n  url: https://outlook.office.com/webhook/${teamsPath}\n`, teamsPath),
  ],
  'bot-tokens': [
    s(`curl https://api.telegram.org/bot${telegramToken}/getMe`, telegramToken),
    s(`curl -H "Authorization: Bearer ${telegramToken}" https://bot.example.com`, telegramToken.split(':')[1]!),
    s(`bot = Bot(token="${telegramToken}")`, telegramToken),
    s(`client.run("${discordBot}")`, discordBot),
    s(`Logged in with ${discordBot} as deploy-bot`, discordBot),
  ],
  'kubernetes-secret-data': [
    s(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  config.json: ${k8sValue}\n`, k8sValue),
    s(`apiVersion: v1\ndata:\n  url: ${k8sValue}\nkind: Secret\nmetadata:\n  name: app\n`, k8sValue),
    s(`kind: "Secret"\ntype: Opaque\ndata:\n  .dockerconfigjson: "${k8sValue}"\n`, k8sValue),
    s(`$ kubectl get secret app -o yaml\napiVersion: v1\ndata:\n  tls.key: ${k8sValue}\nkind: Secret\n`, k8sValue),
    s(`kind: Secret\nmetadata:\n  name: x\n  labels:\n    app: web\ndata:\n  credentials: ${k8sValue}\n`, k8sValue),
  ],
  'azure-storage-keys': [
    s(`DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey=${azureAccountKey};EndpointSuffix=core.windows.net`, azureAccountKey),
    s(`AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${azureAccountKey}"`, azureAccountKey),
    s(`Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${azureSharedKey}`, azureSharedKey),
    s(`az storage blob download --blob-url "https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-02-01T00:00:00Z&sig=${azureSasSig}"`, azureSasSig),
    s(`{"ConnectionStrings": {"Storage": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${azureAccountKey};EndpointSuffix=core.windows.net"}}`, azureAccountKey),
  ],
  jwts: [
    s(`curl -H "Authorization: Bearer ${jwt}" https://api.example.com/me`, jwt),
    s(`{"id_token":"${jwtRs}","expires_in":3600}`, jwtRs),
    s(`https://app.example.com/callback?token=${jwtNone}`, jwtNone),
    s(`Cookie: session=${jwt}; theme=dark`, jwt),
    s(`jwt decode ${jwtRs}`, jwtRs),
  ],
  'private-keys': [
    s(pem('RSA ' + 'PRIVATE', [pemLine(60), pemLine(61), pemLine(62)]), pemLine(61)),
    s(`cat > ~/.ssh/id_ed25519 <<'EOF'\n${pem('OPENSSH ' + 'PRIVATE', [pemLine(63), pemLine(64)])}\nEOF`, pemLine(64)),
    // A GCP service-account file: the key is a JSON string with \n escapes.
    s(`{"type": "service_account", "private_key": "${pem('PRIVATE', [pemLine(65), pemLine(66)], '\\n')}\\n", "client_email": "svc@p.iam"}`, pemLine(66)),
    // Truncated output (head -n 3): no END line.
    s(`$ head -n 3 key.pem\n-----BEGIN EC ${'PRIVATE'} KEY-----\n${pemLine(67)}\n${pemLine(68)}`, pemLine(68)),
    s(['-----BEGIN PGP ' + 'PRIVATE KEY BLOCK-----', '', pemLine(69), '-----END PGP PRIVATE KEY BLOCK-----'].join('\n'), pemLine(69)),
  ],
  'authorization-headers': [
    s(`curl -H "Authorization: Bearer ${bearer}" https://api.example.com/v1/items`, bearer),
    s(`{"headers":{"authorization":"Bearer ${bearer}","accept":"application/json"}}`, bearer),
    s(`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic ${basic}`, basic),
    s(`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20${basic}`, basic),
    s(`gh api -H 'Authorization: token ${bearer}' /user`, bearer),
    s(`Proxy-Authorization: Basic ${basic}\r\n`, basic),
    s(`{'Authorization': 'Bearer ${bearer}'}`, bearer),
    s(`http --header "X-Upstream-Auth: Bearer ${bearer}" :8080/`, bearer),
    s(`curl -u admin:${password} https://clickhouse.example.com:8443/`, password),
    s(`curl --user "svc@example.com:${password}" https://jira.example.com/rest/api/2/myself`, password),
  ],
  'url-credentials': [
    s(`git clone https://alice:${password}@github.com/acme/app.git`, password),
    s(`DATABASE_URL=postgres://app:${password}@db.internal:5432/app?sslmode=require`, password),
    s(`redis-cli -u redis://:${password}@cache.internal:6379/0 ping`, password),
    s(`mongosh "mongodb+srv://svc:p@ss-${password}@cluster0.example.net/db"`, `p@ss-${password}`),
    s(`Error: connect ECONNREFUSED amqp://guest:${password}@rabbit.internal:5672/`, password),
  ],
  'secret-assignments': [
    s(`export DB_PASSWORD=${shortPassword} && npm run migrate`, shortPassword),
    s(`PASSWORD='correct horse ${password}' ./deploy.sh`, `correct horse ${password}`),
    s(`database:\n  user: app\n  password: ${shortPassword}\n`, shortPassword),
    s(`{"api_key": "${genericValue}", "region": "eu-west-1"}`, genericValue),
    s(`mysqladmin --password ${password} status`, password),
    s(`vault login --token=${genericValue}`, genericValue),
    s(`PGPASSWORD=${password} psql -h db -U app`, password),
    s(`client_secret = "${genericValue}"`, genericValue),
    s(`config = {'password': '${password}', 'host': 'db'}`, password),
    s(`kubectl create secret generic db --from-literal=password=${password}`, password),
    s(`curl -H "X-API-Key: ${genericValue}" https://api.example.com`, genericValue),
    s(`accessToken: "${genericValue}"`, genericValue),
    s(`SECRET_KEY_BASE=${genericValue}`, genericValue),
    s(`DB_PASS=${password}`, password),
    s(`MYSQL_PWD=${password} mysql -u root`, password),
  ],
  'email-addresses': [
    s('alice@example.com', 'alice@example.com'),
    s('git config user.email "bob.smith+claude@corp.example.co.uk"', 'bob.smith+claude@corp.example.co.uk'),
    s('Contact carol_o@sub.example.io for access', 'carol_o@sub.example.io'),
    s('{"user.email":"dave@example.org","organization.id":"1"}', 'dave@example.org'),
    s('Permission denied for erin.x@team.example.dev; ask an admin', 'erin.x@team.example.dev'),
  ],
};

// ------------------------------------------------------------------ must not match

/** Values analysis depends on, and prose that mentions secrets without carrying one. */
export const BENIGN: readonly string[] = [
  '6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b', // session.id
  'b7e1d2c3-4f5a-4b6c-9d8e-7f6a5b4c3d2e', // prompt.id
  'req_011CUa1b2c3d4e5f6g7h8i9j', // request_id
  'toolu_01A09q90qw90lq917835lq9', // tool_use_id
  'claude-sonnet-4-5-20250929',
  'claude-opus-4-1',
  'claude-haiku-4-5@20251001', // Vertex model id
  '0.0123',
  '184532',
  'cost_usd=0.0123 input_tokens=1500 output_tokens=320 cache_read_tokens=88000 duration_ms=1534',
  '2026-01-15T09:30:12.345Z',
  'e83c5163316f89bfbde7d9ab23ca2e25604af290',
  'e83c516',
  'Bash',
  'Edit',
  'mcp__github__create_issue',
  'claude_code.token.usage',
  'npm test',
  'git push origin main',
  'git push -u origin feature/token-refresh',
  'ls -la /home/user/project/src',
  'cat ~/.ssh/config',
  'kubectl get secret clickhouse-credentials -o yaml',
  'secretName: clickhouse-credentials',
  'valueFrom:\n  secretKeyRef:\n    name: db\n    key: password',
  'echo "$GH_TOKEN" | docker login ghcr.io -u octocat --password-stdin',
  'export PASSWORD=$DB_PASSWORD',
  'TOKEN=${GITHUB_TOKEN} ./release.sh',
  'gh auth login --token "$NPM_TOKEN"',
  'password: "${DB_PASSWORD}"',
  'token: <your-token-here>',
  'api_key: ""',
  'password: ',
  'password: ********',
  'reset your password in settings',
  'the token count was high',
  'rotate the secret monthly',
  'token usage by model',
  'Invalid API key · Please run /login',
  'OAuth token has expired. Please obtain a new token or refresh your existing token.',
  'Authorization header missing',
  'Bearer tokens are supported',
  '{"model":"claude-sonnet-4-5-20250929","max_tokens":32000,"input_tokens":1234,"cache_creation_input_tokens":0}',
  '"apiKeyHelper": "~/bin/get-api-key.sh"',
  'claude --max-tokens 4096',
  'OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317',
  'OTEL_METRICS_INCLUDE_ACCOUNT_UUID=true',
  'PWD=/home/user/project OLDPWD=/home/user',
  'git clone https://github.com/anthropics/claude-code.git',
  'https://api.anthropic.com/v1/messages?beta=true',
  'docker run -u 1000:1000 -p 8080:80 node:24@sha256:' + 'ab12'.repeat(16),
  'docker run -u "$(id -u):$(id -g)" --rm app',
  'npm install @anthropic-ai/claude-code@2.1.5',
  'open src/assets/icon@2x.png',
  'python -m pytest tests/test_disk_test_readingfiles.py',
  'def load_hf_model(name): ...',
  'const task-listener = 1',
  'claude_code.cost.usage',
  'claude_code.tool_result',
  'api_request',
  'tool_result',
  'user_prompt',
  '2',
  '0.000412',
  'true',
  'accept',
  'cacheRead',
  'main',
  'subagent',
  'vscode',
  'linux',
  'arm64',
  '2.1.122',
  'claude-code',
  '1760000000123456789',
  'a1b2c3d4-0000-4000-8000-123456789abc', // user.account_uuid
  '3f9a1c2e7b5d4e6f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f', // user.id (sha256-shaped)
  'git log --oneline -5 && git show e83c5163316f89bfbde7d9ab23ca2e25604af290',
  'grep -rn "password" src/ --include=*.ts',
  'Read the file src/auth/token_store.ts and explain how tokens are refreshed',
  'The API key must be set in the environment; never commit it',
  'Error: ENOENT: no such file or directory, open \'/home/user/project/.env\'',
  'Error: Request failed with status code 429 (rate_limit_error)',
  'npx vitest run test/secret-scanner.test.ts',
  'docker compose up -d postgres redis',
  'SELECT sum(cost_usd) FROM api_requests WHERE model = \'claude-opus-4-1\'',
];

