import { k8s } from 'cdk8s-plus-28';

interface Amounts {
  cpu?: string | undefined;
  memory?: string | undefined;
}

function quantities(amounts: Amounts): Record<string, k8s.Quantity> | undefined {
  const out: Record<string, k8s.Quantity> = {};
  if (amounts.cpu !== undefined) out.cpu = k8s.Quantity.fromString(amounts.cpu);
  if (amounts.memory !== undefined) out.memory = k8s.Quantity.fromString(amounts.memory);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Container resources from the spec, with unset keys omitted (not defaulted behind the user's back). */
export function containerResources(spec: { requests: Amounts; limits: Amounts }): k8s.ResourceRequirements {
  const requests = quantities(spec.requests);
  const limits = quantities(spec.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}
