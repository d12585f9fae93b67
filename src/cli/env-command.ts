/**
 * `telemetry-stack env --user NAME`: the exports a team member pastes into a shell profile
 * (or, with --managed-settings, the env block an organisation rolls out). The credential
 * is read from the user's Secret and printed to stdout only: that is the command's purpose.
 * No message, log line or error ever contains it.
 */
import { stackNames } from '../stack/naming.ts';
import { SECRET_KEYS } from '../stack/secrets.ts';
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, STACK_FLAGS } from './flags.ts';
import {
  clientEnv,
  collectorEndpoint,
  envNotes,
  managedSettings,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  parseResourceAttributes,
  shellExports,
  TEMPORALITIES,
  type Temporality,
} from './claude-code/env.ts';
import { connect } from './cluster/connection.ts';
import { findStack } from './cluster/stacks.ts';
import { readUserSecretKey, requireUser } from './cluster/user-secret.ts';

/** Hosts whose traffic never leaves the machine (a port-forward, kind's node ports). */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * A warning for an OTLP endpoint that sends the credential and the telemetry in plain text over
 * a network: http:// to anything but loopback. Undefined when the endpoint is https:// or local.
 */
export function plainTextWarning(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || isLoopback(url.hostname)) return undefined;
  return (
    `warning: ${endpoint} is plain HTTP: the Authorization header (your ingestion credential) and your telemetry cross the network unencrypted. ` +
    'Enable TLS on the collector (spec.collector.tls) and use https://, or reach it through "kubectl port-forward" on localhost.'
  );
}

export const envCommand: Command = defineCommand({
  name: 'env',
  summary: 'Print the exports that send Claude Code telemetry to a stack with your credentials',
  synopsis: ['--user NAME [options]'],
  description: `Print the environment variables that send Claude Code telemetry to a stack with NAME's
credentials, read from the cluster. Paste them into your shell profile, or:
  eval "$(telemetry-stack env --user NAME)"
The client's switches follow the stack's level (content only at full; no traces: the stack
stores none). A note on stderr names each variable of your current environment that the
exports change, that would send a signal elsewhere, or that has no effect on this stack.`,
  flags: {
    user: { type: 'string', short: 'u', value: 'NAME', help: "Your user name in the stack's spec.access.users (required)" },
    ...STACK_FLAGS,
    ...CLUSTER_FLAGS,
    endpoint: { type: 'string', value: 'URL', help: 'OTLP endpoint to put in the exports (default: derived from the collector Service)' },
    protocol: { type: 'string', value: 'P', choices: OTLP_PROTOCOLS, default: 'http/protobuf', help: 'http/protobuf (default) or grpc' },
    'resource-attributes': { type: 'string', value: 'K=V,...', help: 'Extra OTEL_RESOURCE_ATTRIBUTES, e.g. team=payments,cost_center=42' },
    temporality: { type: 'string', value: 'T', choices: TEMPORALITIES, default: 'delta', help: 'Metric points: delta (default) or cumulative; the stack stores either' },
    'managed-settings': { type: 'boolean', help: 'Print the {"env": {...}} block for managed-settings.json instead of shell exports' },
  },
  async run({ values }, io) {
    if (!values.user) throw new UserError("env: --user NAME is required (your name in the stack's spec.access.users)", 2);
    const protocol: OtlpProtocol = values.protocol;
    const temporality: Temporality = values.temporality;
    if (values.endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(values.endpoint)) {
      throw new UserError(`--endpoint must be a URL such as http://localhost:30318 or https://telemetry.example.com, not "${values.endpoint}"`, 2);
    }
    let resourceAttributes: Record<string, string> | undefined;
    if (values['resource-attributes'] !== undefined) {
      const parsed = parseResourceAttributes(values['resource-attributes']);
      if (!parsed.ok) throw new UserError(`--resource-attributes: ${parsed.problem}`, 2);
      resourceAttributes = parsed.value;
    }

    const kube = await connect(io.env, connectOptions(values));
    const found = await findStack(kube, { namespace: values.namespace, name: values.stack });
    requireUser(found, values.user);
    const authorization = await readUserSecretKey(kube, found, values.user, SECRET_KEYS.otlpAuthorization);
    const derived = collectorEndpoint(found.stack, protocol);
    const endpoint = values.endpoint ?? derived.url;
    if (values.endpoint === undefined && derived.reachableFrom === 'cluster') {
      io.stderr.write(
        `note: ${endpoint} is the collector's in-cluster Service address; from a laptop pass --endpoint with your ingress or load balancer URL ` +
          `(or "kubectl port-forward -n ${found.namespace} svc/${stackNames(found.name).collector} 4318" and --endpoint http://localhost:4318).\n`,
      );
    }
    const warning = plainTextWarning(endpoint);
    if (warning) io.stderr.write(`${warning}\n`);
    const env = clientEnv({ stack: found.stack, authorization, endpoint, protocol, temporality, ...(resourceAttributes ? { resourceAttributes } : {}) });
    for (const note of envNotes(found.stack.spec.level, env, io.env)) io.stderr.write(`${note}\n`);
    io.stdout.write(
      values['managed-settings']
        ? managedSettings(env)
        : shellExports(env, `Claude Code telemetry for ${values.user} -> stack ${found.namespace}/${found.name} (level ${found.stack.spec.level})`),
    );
    return 0;
  },
});
