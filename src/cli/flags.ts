/**
 * Options several commands share, declared once so that they read the same everywhere, as
 * kubectl's do: --kubeconfig, --context, -n/--namespace, --stack, -o/--output.
 */
import type { ConnectOptions } from './cluster/connection.ts';
import { REPORT_FORMATS } from './report-output.ts';
import { UserError } from './framework/io.ts';
import type { Flags, StringFlag } from './framework/command.ts';

/** Where the cluster is: every command that talks to one takes these. */
export const CLUSTER_FLAGS = {
  kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)', complete: 'file' },
  context: { type: 'string', value: 'CTX', help: 'kubeconfig context (default: the current one)', complete: 'context' },
} as const satisfies Flags;

/** Which stack: -n and --stack, the same on every command that reads a stack in the cluster. */
export const STACK_FLAGS = {
  namespace: { type: 'string', short: 'n', value: 'NS', help: 'Namespace of the stack (default: search all namespaces you can list)' },
  stack: { type: 'string', value: 'NAME', help: 'Name of the stack (default: the only one found)' },
} as const satisfies Flags;

/** -o/--output FORMAT with the formats a command prints; its default is the first. */
export function outputFlag<const C extends readonly [string, ...string[]]>(choices: C, help = `Output format: ${choices.join(', ')}`) {
  return { type: 'string', short: 'o', value: 'FORMAT', choices, default: choices[0] as C[0], help } as const satisfies StringFlag;
}

export function connectOptions(values: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined }): ConnectOptions {
  return { kubeconfig: values.kubeconfig, context: values.context };
}

/** The stack named by --stack or, for kubectl's habit (status NAME, doctor NAME), as an operand: either, not two different ones. */
export function stackName(flag: string | undefined, operand: string | undefined): string | undefined {
  if (flag !== undefined && operand !== undefined && flag !== operand) throw new UserError(`the stack is named twice ("${operand}" and --stack ${flag}); give it once`, 2);
  return flag ?? operand;
}

/** The spelling of -o before it followed kubectl; kept working, no longer listed. */
export const FORMAT_ALIAS = { type: 'string', value: 'FORMAT', choices: REPORT_FORMATS, hidden: true, help: 'The same as -o/--output' } as const satisfies StringFlag;
