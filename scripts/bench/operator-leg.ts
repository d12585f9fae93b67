/**
 * The ClickHouse leg of one reconcile on the embedded engine, as scripts/bench/operator.ts runs it
 * for each stack: a fresh database (every migration), then the same stack again (steady state).
 *
 *   node scripts/bench/operator-leg.ts [--stacks 10]
 *
 * Prints per-stack times of the first leg (migrations on a fresh database) and of a second one
 * (nothing to change), the SQL statements each sends, and the time of N first legs run 4 at a
 * time (the operator's default worker count) against one after another: with the embedded
 * engine the legs cannot overlap, so that ratio says whether more workers could help.
 */
import { parseArgs } from 'node:util';
import type { SqlTarget } from '../../src/clickhouse/target.ts';
import { sqlClickHouseLeg } from '../../src/operator/clickhouse-sql.ts';
import type { ClickHouseCredentials } from '../../src/operator/clickhouse-leg.ts';
import { sharedEmbeddedClickHouse } from '../../harness/operator.ts';
import { stackFrom } from '../../harness/stacks.ts';

const { values } = parseArgs({ options: { stacks: { type: 'string', default: '10' } } });
const stacks = Number(values.stacks);
const clickhouse = await sharedEmbeddedClickHouse();
let statements = 0;
const counting: SqlTarget = {
  ...clickhouse.target,
  exec: (sql) => (statements++, clickhouse.target.exec(sql)),
  query: (sql, params) => (statements++, clickhouse.target.query(sql, params)),
  close: async () => {},
};
const leg = sqlClickHouseLeg(async () => counting);
const account = { username: 'default', password: '' };
const stackOf = (i: number, prefix: string) => stackFrom({ clickhouse: { database: `${prefix}_${i}` } }, 'telemetry', `bench-${i}`);
const credentialsOf = (stack: ReturnType<typeof stackOf>): ClickHouseCredentials => ({
  admin: account,
  ingest: account,
  users: new Map(stack.spec.access.users.map((user) => [user.name, { username: user.name, password: `password-of-${user.name}` }])),
});

const time = async (run: () => Promise<unknown>) => {
  const started = performance.now();
  await run();
  return performance.now() - started;
};
try {
  const first: number[] = [];
  const again: number[] = [];
  let firstStatements = 0;
  let againStatements = 0;
  for (let i = 0; i < stacks; i++) {
    const stack = stackOf(i, 'serial');
    statements = 0;
    first.push(await time(() => leg.reconcile(stack, 'http://embedded.invalid:8123', credentialsOf(stack))));
    firstStatements = statements;
    statements = 0;
    again.push(await time(() => leg.reconcile(stack, 'http://embedded.invalid:8123', credentialsOf(stack))));
    againStatements = statements;
  }
  const serialMs = first.reduce((a, b) => a + b, 0);
  const parallelMs = await time(async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < stacks) {
        const stack = stackOf(next++, 'parallel');
        await leg.reconcile(stack, 'http://embedded.invalid:8123', credentialsOf(stack));
      }
    }));
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(JSON.stringify({
    stacks,
    firstLeg: { medianMs: Math.round(median(first)), statements: firstStatements },
    steadyLeg: { medianMs: Math.round(median(again)), statements: againStatements },
    firstLegsSerialMs: Math.round(serialMs),
    firstLegs4AtATimeMs: Math.round(parallelMs),
  }, null, 2));
} finally {
  await clickhouse.close();
}
