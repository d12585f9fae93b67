import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, WorkQueue } from '../src/operator/queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('work queue', () => {
  let queue: WorkQueue | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await queue?.shutdown();
    queue = undefined;
  });

  it('coalesces a burst of adds of one key into one reconcile', async () => {
    const calls: string[] = [];
    queue = new WorkQueue();
    for (let i = 0; i < 50; i++) queue.add('ns/a');
    queue.add('ns/b');
    expect(queue.depth).toBe(2);
    queue.start(async (key) => {
      calls.push(key);
    }, 4);
    await queue.whenIdle();
    expect(calls.sort()).toEqual(['ns/a', 'ns/b']);
  });

  it('never runs two reconciles of one key at once, and re-runs a key added while it ran', async () => {
    queue = new WorkQueue();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const gate = deferred();
    const firstStarted = deferred();
    queue.start(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) {
        firstStarted.resolve();
        await gate.promise;
      }
      running--;
    }, 4);
    queue.add('ns/a');
    await firstStarted.promise;
    // Three adds while the first reconcile runs: one more reconcile afterwards, not three, and not in parallel.
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    await new Promise((r) => setTimeout(r, 20));
    expect(maxRunning).toBe(1);
    expect(calls).toBe(1);
    gate.resolve();
    await queue.whenIdle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    queue = new WorkQueue();
    let running = 0;
    let maxRunning = 0;
    queue.start(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    }, 3);
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(`ns/${key}`);
    await queue.whenIdle();
    expect(maxRunning).toBe(3);
  });

  it('retries a failing key with exponential backoff and resets after a success', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const delays: number[] = [];
    queue = new WorkQueue({
      backoff: { baseMs: 100, capMs: 1_000, jitter: 0 },
      onResult: (_key, outcome) => {
        if (!outcome.ok) delays.push(outcome.retryInMs);
      },
    });
    queue.start(async () => {
      attempts.push(Date.now());
      if (attempts.length < 6) throw new Error('apiserver unavailable');
    }, 1);
    queue.add('ns/a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toHaveLength(6);
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    expect(gaps).toEqual([100, 200, 400, 800, 1_000]);
    expect(queue.failureCount('ns/a')).toBe(0);
  });

  it('backoff is capped and jittered downwards only', () => {
    const policy = { baseMs: 500, capMs: 60_000, jitter: 0.2 };
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(3, policy, () => 0)).toBe(2_000);
    expect(backoffDelay(40, policy, () => 0)).toBe(60_000);
    expect(backoffDelay(40, policy, () => 0.999)).toBeGreaterThanOrEqual(48_000);
    expect(backoffDelay(40, policy, () => 0.999)).toBeLessThan(60_000);
  });

  it('a delayed add keeps the earliest time and a requeueAfter result re-runs the key', async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    queue = new WorkQueue();
    queue.start(async () => {
      calls.push(Date.now());
      return calls.length === 1 ? { requeueAfterMs: 5_000 } : undefined;
    }, 1);
    const start = Date.now();
    queue.addAfter('ns/a', 3_000);
    queue.addAfter('ns/a', 1_000);
    queue.addAfter('ns/a', 2_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([start + 1_000]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toEqual([start + 1_000, start + 6_000]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(2);
  });

  it('shutdown waits for the running reconcile and drops waiting keys', async () => {
    queue = new WorkQueue();
    const gate = deferred();
    const started = deferred();
    const seen: string[] = [];
    let finished = false;
    queue.start(async (key) => {
      seen.push(key);
      started.resolve();
      await gate.promise;
      finished = true;
    }, 1);
    queue.add('ns/a');
    queue.add('ns/b');
    await started.promise;
    const stopping = queue.shutdown();
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(seen).toEqual(['ns/a']);
    queue = undefined;
  });
});
