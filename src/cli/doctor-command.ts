/** `telemetry-stack doctor`: the checks a person would run, each failure with its fix. */
import { existsSync } from 'node:fs';
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { DEFAULT_DEPS, type JourneyDeps } from './journey/deps.ts';
import { formatResults, type OpenStackData, runDoctor } from './journey/doctor.ts';
import { readInstallManifest } from './journey/project.ts';
import { openClusterStackData } from './journey/stack-data.ts';

const USAGE = `Usage: telemetry-stack doctor [-n NS] [NAME] [options]

Check, in the order telemetry flows: the cluster answers; this machine's clock agrees with it;
the TelemetryStack CRD and the operator are installed and running; the stack is Ready; its pods
are healthy; user credentials exist; events arrived recently; disk use against the cap; event
names and attribute keys stored recently that this version's field tables do not know (a newer
Claude Code).
Prints a fix for each failure. Exits 1 when a check fails.

Options:
  -n, --namespace NS   Namespace of the stack (default: search all namespaces you can list)
      --context CTX    kubeconfig context (default: the current one)
      --since MINUTES  "Events arriving" means at least one event in this many minutes (default: 15)
      --fields-days N  "Unknown fields" looks at what was stored in the last N days (default: 7)
`;

/** Where the operator runs, as the install manifest says (default names when it is not at hand). */
function operatorLocation(installManifest: string): { namespace: string; name: string } {
  if (existsSync(installManifest)) {
    const deployment = readInstallManifest(installManifest).find((o) => o.kind === 'Deployment');
    if (deployment?.metadata.namespace) return { namespace: deployment.metadata.namespace, name: deployment.metadata.name };
  }
  return { namespace: 'telemetry-stack-system', name: 'telemetry-stack-operator' };
}

export function makeDoctorCommand(deps: JourneyDeps & { openData?: OpenStackData }): Command {
  return {
    name: 'doctor',
    summary: 'Check cluster, operator, stack, pods, credentials, clock, events arriving and disk; print a fix for each failure',
    usage: USAGE,
    async run(args, io) {
      const { values, positionals } = parseCommandArgs(
        args,
        { namespace: { type: 'string', short: 'n' }, context: { type: 'string' }, since: { type: 'string', default: '15' }, 'fields-days': { type: 'string', default: '7' } },
        USAGE,
        true,
      );
      if (positionals.length > 1) throw new UserError(`doctor takes one stack NAME, got ${positionals.length}\n\n${USAGE}`, 2);
      const sinceMinutes = Number(values.since);
      if (!Number.isFinite(sinceMinutes) || sinceMinutes <= 0) throw new UserError(`--since must be a positive number of minutes, not "${values.since}"`, 2);
      const fieldsDays = Number(values['fields-days']);
      if (!Number.isInteger(fieldsDays) || fieldsDays <= 0) throw new UserError(`--fields-days must be a positive whole number of days, not "${values['fields-days']}"`, 2);
      const kube = await deps.connect(io.env, { context: values.context });
      const results = await runDoctor(kube, {
        selector: { namespace: values.namespace, name: positionals[0] },
        sinceMinutes,
        fieldsDays,
        now: deps.now,
        operator: operatorLocation(deps.files.installManifest),
        openData: deps.openData,
      });
      io.stdout.write(formatResults(results));
      return results.some((r) => r.verdict === 'fail') ? 1 : 0;
    },
  };
}

export const doctorCommand = makeDoctorCommand({ ...DEFAULT_DEPS, openData: openClusterStackData });
