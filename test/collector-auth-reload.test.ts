/**
 * Why the operator rolls the collector when its credentials change: the real collector's
 * basicauth extension reads the htpasswd file once, at start. A user added to the file (as the
 * kubelet does when the mounted Secret changes) is refused until the collector restarts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackSecrets, stackSecrets, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

const stack = stackFrom({ access: { users: [{ name: 'owner', role: 'admin' }, { name: 'bob' }] } });
const all = stackSecrets(stack);
const ownerOnly: StackSecrets = { ...all, htpasswd: `${all.htpasswd.split('\n').filter((line) => line.startsWith('owner:')).join('\n')}\n` };
let sink: OtlpSink;

beforeAll(async () => {
  sink = await new OtlpSink().start();
}, 60_000);
afterAll(async () => {
  await stopAllCollectors();
  await sink?.stop();
});

/** HTTP status of an empty OTLP/JSON logs export as `user` (authentication runs before anything else). */
async function statusAs(endpoint: string, user: string): Promise<number> {
  const response = await fetch(`${endpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: all.authorization[user]! },
    body: JSON.stringify({ resourceLogs: [] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('the collector\'s htpasswd', { timeout: 120_000 }, () => {
  it('is read at start only: a user added to the file is refused until a restart', async () => {
    expect(ownerOnly.htpasswd).not.toContain('bob:');
    const first = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets: ownerOnly });
    expect(await statusAs(first.httpEndpoint, 'owner')).toBe(200);
    expect(await statusAs(first.httpEndpoint, 'bob')).toBe(401);

    // The file now holds bob's line (a mounted Secret is updated in place like this), but the running collector does not see it.
    writeFileSync(join(first.dir, 'htpasswd'), all.htpasswd);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await statusAs(first.httpEndpoint, 'bob')).toBe(401);
    await first.stop();

    // A new process (what a rolled pod is) reads it.
    const second = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets: all, dir: first.dir });
    expect(await statusAs(second.httpEndpoint, 'bob')).toBe(200);
    expect(await statusAs(second.httpEndpoint, 'owner')).toBe(200);
    await second.stop();
  });
});
