/** The recommended app.kubernetes.io/* labels, plus the label the operator prunes by. */
export const PART_OF = 'telemetry-stack';
export const MANAGED_BY = 'telemetry-stack';
/** Every object rendered for a stack carries this label with the stack's name. */
export const STACK_LABEL = 'telemetrystack.io/stack';

export type Component = 'collector' | 'clickhouse' | 'access' | 'grafana';

/** Labels that select a component's pods. They are immutable on a workload once applied, so they hold nothing that can change. */
export function selectorLabels(stack: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': stack,
  };
}

export function componentLabels(stack: string, component: Component, version?: string): Record<string, string> {
  return {
    ...selectorLabels(stack, component),
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(version ? { 'app.kubernetes.io/version': sanitizeLabelValue(version) } : {}),
    [STACK_LABEL]: stack,
  };
}

/** Label values: at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric. */
export function sanitizeLabelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** The version part of an image reference ("repo/name:1.2.3" -> "1.2.3"). */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? undefined : withoutDigest.slice(colon + 1);
}
