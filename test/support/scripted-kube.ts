/**
 * A scripted Kubernetes client for request-sequence tests (as controller-rs tests its reconcile):
 * each "METHOD path" answers from a queue (the last answer repeats; an Error is thrown), and
 * every call is recorded. For the moments a real API server cannot easily be made to reach; the
 * real-cluster tests cover the rest.
 */
import type { KubeClient, RequestOptions } from '../../src/kube/client.ts';

export type Answer = unknown | ((options?: RequestOptions) => unknown);

export interface ScriptedCall {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

export function scripted(answers: Record<string, Answer[]>): { client: KubeClient; calls: ScriptedCall[] } {
  const calls: ScriptedCall[] = [];
  const client: KubeClient = {
    async request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
      calls.push({ method, path, ...(options?.body !== undefined ? { body: options.body } : {}) });
      const queue = answers[`${method} ${path}`];
      if (!queue || queue.length === 0) throw new Error(`unexpected ${method} ${path}`);
      const answer = queue.length > 1 ? queue.shift() : queue[0];
      const value = typeof answer === 'function' ? (answer as (options?: RequestOptions) => unknown)(options) : answer;
      if (value instanceof Error) throw value;
      return value as T;
    },
    watch: () => Promise.reject(new Error('no watches here')),
  };
  return { client, calls };
}
