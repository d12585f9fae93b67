/** Kubernetes Events on a TelemetryStack (what `kubectl describe` shows). */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Logger } from './log.ts';
import { EVENTS, resourcePath } from './resources.ts';

export const COMPONENT = 'telemetry-stack-operator';

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(client: KubeClient, log: Logger, now: () => Date = () => new Date()) {
    this.client = client;
    this.log = log;
    this.now = now;
  }

  /** Best effort: a failed Event must not fail the reconcile. */
  async record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const time = this.now().toISOString();
    try {
      await this.client.request('POST', resourcePath(EVENTS, namespace), {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name,
            namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: COMPONENT,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (error) {
      this.log.warn('could not record event', { reason, error: (error as Error).message });
    }
  }
}
