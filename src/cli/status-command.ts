/** `telemetry-stack status`: a stack's conditions in words. */
import { KIND } from '../api/constants.ts';
import { type Command, defineCommand } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, outputFlag, stackName, STACK_FLAGS } from './flags.ts';
import { formatValue } from './report-output.ts';
import { describeCondition, isReady, sortConditions } from './cluster/conditions.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { type ClusterStack, findStack } from './cluster/stacks.ts';

/** The status report as lines; pure so that doctor and tests reuse it. */
export function statusLines(found: ClusterStack, now: Date): string[] {
  const { status } = found;
  const lines = [`${KIND} ${found.namespace}/${found.name}: ${isReady(found) ? 'Ready' : 'not Ready'}`];
  const conditions = sortConditions(status.conditions ?? []);
  if (conditions.length === 0) {
    lines.push('  no status yet: the operator has not reconciled this stack. Is it running? ("telemetry-stack doctor" checks)');
  }
  for (const condition of conditions) lines.push(`  ${describeCondition(condition, now)}`);
  if (found.generation !== undefined && status.observedGeneration !== undefined && status.observedGeneration < found.generation) {
    lines.push(`  the operator has not acted on the latest edit yet (generation ${found.generation}, last reconciled ${status.observedGeneration})`);
  }
  const endpoints = status.endpoints ?? {};
  const named = [
    ['OTLP gRPC', endpoints.otlpGrpc],
    ['OTLP HTTP', endpoints.otlpHttp],
    ['ClickHouse HTTP', endpoints.clickhouseHttp],
  ].filter((pair): pair is [string, string] => pair[1] !== undefined);
  if (named.length > 0) lines.push(`  endpoints: ${named.map(([what, url]) => `${what} ${url}`).join(', ')}`);
  const spec = found.stack.spec;
  lines.push(`  level ${spec.level}; ${status.users ?? spec.access.users.length} user(s): ${spec.access.users.map((u) => `${u.name} (${u.role})`).join(', ') || 'none'}`);
  const retention = status.appliedRetention;
  if (retention) {
    lines.push(`  retention in force: events ${retention.eventsDays ?? '?'}d, metrics ${retention.metricsDays ?? '?'}d, rollups ${retention.rollupsDays ?? '?'}d`);
  }
  return lines;
}

export function makeStatusCommand(deps: CommandDeps): Command {
  return defineCommand({
    name: 'status',
    summary: "Print a stack's conditions in words",
    synopsis: ['[NAME] [-n NS] [options]'],
    description: "Print a stack's conditions in words, its endpoints and what the operator applied.\nExits 0 when the stack is Ready for its latest generation, 1 otherwise.",
    flags: { ...STACK_FLAGS, ...CLUSTER_FLAGS, output: outputFlag(['table', 'json', 'yaml'], 'Output format: table (words), json or yaml (the stack and its status)') },
    operands: { synopsis: '[NAME]', min: 0, max: 1, what: 'one stack NAME (or --stack NAME)' },
    async run({ values, operands }, io) {
      const name = stackName(values.stack, operands[0]);
      const kube = await deps.connect(io.env, connectOptions(values));
      const found = await findStack(kube, { namespace: values.namespace, name });
      io.stdout.write(values.output === 'table' ? `${statusLines(found, deps.now()).join('\n')}\n` : formatValue(stackDocument(found), values.output));
      return isReady(found) ? 0 : 1;
    },
  });
}

/** The stack as -o json/yaml prints it: what the cluster holds, with its defaults filled in. */
export function stackDocument(found: ClusterStack) {
  return { apiVersion: found.stack.apiVersion, kind: found.stack.kind, metadata: { name: found.name, namespace: found.namespace, generation: found.generation }, spec: found.stack.spec, status: found.status };
}

export const statusCommand = makeStatusCommand(DEFAULT_DEPS);
