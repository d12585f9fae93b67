/** `telemetry-stack status`: a stack's conditions in words. */
import { KIND } from '../api/constants.ts';
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { describeCondition, isReady, sortConditions } from './journey/conditions.ts';
import { DEFAULT_DEPS, type JourneyDeps } from './journey/deps.ts';
import { type ClusterStack, findStack } from './journey/stacks.ts';

const USAGE = `Usage: telemetry-stack status [-n NS] [NAME] [options]

Print a stack's conditions in words, its endpoints and what the operator applied.
Exits 0 when the stack is Ready for its latest generation, 1 otherwise.

Options:
  -n, --namespace NS   Namespace of the stack (default: search all namespaces you can list)
      --context CTX    kubeconfig context (default: the current one)
`;

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

export function makeStatusCommand(deps: JourneyDeps): Command {
  return {
    name: 'status',
    summary: "Print a stack's conditions in words",
    usage: USAGE,
    async run(args, io) {
      const { values, positionals } = parseCommandArgs(
        args,
        { namespace: { type: 'string', short: 'n' }, context: { type: 'string' } },
        USAGE,
        true,
      );
      if (positionals.length > 1) throw new UserError(`status takes one stack NAME, got ${positionals.length}\n\n${USAGE}`, 2);
      const kube = await deps.connect(io.env, { context: values.context });
      const found = await findStack(kube, { namespace: values.namespace, name: positionals[0] });
      io.stdout.write(`${statusLines(found, deps.now()).join('\n')}\n`);
      return isReady(found) ? 0 : 1;
    },
  };
}

export const statusCommand = makeStatusCommand(DEFAULT_DEPS);
