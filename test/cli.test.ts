import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { run } from '../src/cli/main.ts';
import { ROOT } from '../harness/stacks.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tstack-cli-'));
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } } & Record<string, any>);

function writeStack(text: string): string {
  const file = join(tmp(), 'stack.yaml');
  writeFileSync(file, text);
  return file;
}

describe('telemetry-stack synth', () => {
  it('prints the manifests of an example', async () => {
    const result = await run(['synth', '-f', join(ROOT, 'examples/local.yaml')]);
    expect(result.code).toBe(0);
    const objects = docs(result.stdout);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      expect.arrayContaining(['ConfigMap/local-collector-config', 'StatefulSet/local-collector', 'Service/local-collector', 'StatefulSet/local-clickhouse']),
    );
    expect(objects.every((o) => o.metadata.namespace === 'telemetry')).toBe(true);
  });

  it('accepts a bare spec, --name, --namespace and --set', async () => {
    const file = writeStack('level: full\nretention:\n  eventsDays: 10\n');
    const result = await run(['synth', '-f', file, '--name', 'demo', '-n', 'obs', '--set', 'retention.eventsDays=20', '--set', 'collector.replicas=3', '--set', 'access.users[0].name=zoe']);
    // Only the note that retention is the operator's (test/cli-honest.test.ts): no problem.
    expect(result.stderr).toMatch(/^telemetry-stack: note: --set retention.eventsDays=20 changes no rendered manifest[^\n]*\n$/);
    const objects = docs(result.stdout);
    const collector = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'demo-collector')!;
    expect(collector.spec.replicas).toBe(3);
    expect(collector.metadata.namespace).toBe('obs');
  });

  it('bad input exits non-zero naming the file, the field path and the problem, without a stack trace', async () => {
    const file = writeStack('retention:\n  eventsDays: -3\naccess:\n  users:\n    - name: "x\'y"\n');
    const result = await run(['synth', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(file);
    expect(result.stderr).toContain('spec.retention.eventsDays: must be at least 1');
    expect(result.stderr).toContain('spec.access.users[0].name:');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('malformed YAML names the file and line', async () => {
    const file = writeStack('level: full\nretention: [unclosed\n');
    const result = await run(['synth', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file}:\\d+:\\d+: not valid YAML`));
  });

  it('a missing file and an unknown option are explained', async () => {
    expect((await run(['synth', '-f', '/nonexistent/stack.yaml'])).stderr).toContain('/nonexistent/stack.yaml: no such file');
    const unknown = await run(['synth', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('telemetry-stack: synth: unknown option --bogus (telemetry-stack synth --help lists the options)\n');
  });

  it('--set with a bad path or type is a user error', async () => {
    expect((await run(['synth', '--set', 'retention'])).stderr).toContain('expected path=value');
    expect((await run(['synth', '--set', 'level=full', '--set', 'level.x=1'])).stderr).toContain('level is a string');
  });

  it('-o writes one file per object', async () => {
    const dir = tmp();
    expect((await run(['synth', '-f', join(ROOT, 'examples/team.yaml'), '--output-dir', dir])).code).toBe(0);
    const files = readdirSync(dir);
    expect(files).toContain('statefulset-platform-team-collector.yaml');
    expect(docs(readFileSync(join(dir, 'configmap-platform-team-collector-config.yaml'), 'utf8'))[0]!.kind).toBe('ConfigMap');
  });

  it('prints Secrets only when asked, and fresh ones each time', async () => {
    expect(docs((await run(['synth'])).stdout).some((o) => o.kind === 'Secret')).toBe(false);
    const first = docs((await run(['synth', '--with-secrets'])).stdout).filter((o) => o.kind === 'Secret');
    const second = docs((await run(['synth', '--with-secrets'])).stdout).filter((o) => o.kind === 'Secret');
    expect(first.map((s) => s.metadata.name)).toContain('telemetry.user.owner');
    const password = (list: typeof first) => list.find((s) => s.metadata.name === 'telemetry.user.owner')!.stringData.password;
    expect(password(first)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(password(first)).not.toBe(password(second));
  });

  it('runs as a program on the project\'s Node', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'synth', '-f', join(ROOT, 'examples/local.yaml')], { encoding: 'utf8' });
    expect(out).toContain('kind: StatefulSet');
    const bad = spawnSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'synth', '--set', 'level=verbose'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('spec.level: must be one of');
  });
});
