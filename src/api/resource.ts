/** The whole TelemetryStack object, and the single entry point for validating one. */
import { z } from 'zod';
import { API_GROUP_VERSION, KIND, MAX_STACK_NAME_LENGTH, NAMESPACE_NAME_PATTERN } from './constants.ts';
import { TelemetryStackSpec } from './spec.ts';
import { TelemetryStackStatus } from './status.ts';

/** DNS-1035 label: Service names are derived from the stack name, and they must start with a letter. */
export const STACK_NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const StackName = z
  .string()
  .min(1)
  .max(MAX_STACK_NAME_LENGTH)
  .regex(STACK_NAME_PATTERN, {
    message: 'must start with a letter and contain only lower-case letters, digits and "-" (it prefixes Service names)',
  });

export const Metadata = z
  .looseObject({
    name: StackName,
    namespace: z.string().min(1).max(63).regex(NAMESPACE_NAME_PATTERN).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    generation: z.number().int().optional(),
    uid: z.string().optional(),
  })
  .describe('Standard object metadata.');

export const TelemetryStackResource = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(KIND),
    metadata: Metadata,
    spec: TelemetryStackSpec.prefault({}),
    status: TelemetryStackStatus.optional(),
  })
  .strict();

export type TelemetryStack = z.output<typeof TelemetryStackResource>;
export type TelemetryStackInput = z.input<typeof TelemetryStackResource>;
