/** TelemetryStack status: metav1 conditions plus what the operator applied. No phase enum. */
import { z } from 'zod';

export const Condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe('Condition type in CamelCase: Ready, Progressing, Degraded, or a per-component type such as CollectorReady.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was set for.'),
    lastTransitionTime: z.string().max(64).describe('When the condition last changed status (RFC 3339).'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('Machine-readable CamelCase reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details.'),
  })
  .strict()
  .describe('A metav1.Condition.');

export const TelemetryStackStatus = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the operator last reconciled.'),
    conditions: z
      .array(Condition)
      .max(32)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Progressing and Degraded, plus per-component conditions.'),
    endpoints: z
      .object({
        otlpGrpc: z.string().max(1024).optional().describe('OTLP gRPC endpoint inside the cluster.'),
        otlpHttp: z.string().max(1024).optional().describe('OTLP HTTP endpoint inside the cluster.'),
        clickhouseHttp: z.string().max(1024).optional().describe('ClickHouse HTTP endpoint for queries.'),
      })
      .strict()
      .optional()
      .describe('Where clients send and query.'),
    appliedRetention: z
      .object({
        eventsDays: z.number().int().optional().describe('TTL in force on raw events.'),
        metricsDays: z.number().int().optional().describe('TTL in force on raw metrics.'),
        rollupsDays: z.number().int().optional().describe('TTL in force on daily rollups.'),
      })
      .strict()
      .optional()
      .describe('Retention as applied to ClickHouse (read back, not copied from the spec).'),
    users: z.number().int().min(0).optional().describe('Number of users provisioned.'),
  })
  .strict()
  .describe('Observed state, written by the operator.');

export type TelemetryStackStatus = z.output<typeof TelemetryStackStatus>;
export type Condition = z.output<typeof Condition>;
