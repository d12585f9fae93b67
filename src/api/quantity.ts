/**
 * Kubernetes resource quantities ("500m", "2Gi", "1.5G"). Parsed here so that a spec
 * with an impossible quantity is rejected with its field path before anything renders.
 */

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The subset of Kubernetes' quantity grammar a person writes: a non-negative decimal and an optional suffix. */
export const QUANTITY_PATTERN = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Returns the value of a quantity in base units (bytes, cores), or undefined when it is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * SUFFIX[match[3] ?? '']!;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
