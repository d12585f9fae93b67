/** `telemetry-stack sanitize`: JSON Lines in and out, --explain, hash keys, malformed lines, streaming. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main, run } from '../src/cli/main.ts';
import { asToolParameters, BENIGN, ghp, shortPassword } from '../harness/sanitizer-corpus.ts';
import { ROOT } from '../harness/stacks.ts';

const dir = mkdtempSync(join(tmpdir(), 'telemetry-stack-sanitize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stackFile(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}
const FULL = stackFile('full.yaml', 'level: full\n');
const KEY_ENV = { SANITIZER_HASH_KEY: 'env-key' };
const jsonl = (records: unknown[]) => records.map((record) => `${JSON.stringify(record)}\n`).join('');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const secretRecord = {
  body: 'claude_code.tool_result',
  attributes: {
    tool_name: 'Bash',
    tool_parameters: asToolParameters(`export DB_PASSWORD=${shortPassword} && GH_TOKEN=${ghp} gh pr create`),
    'user.email': 'alice@example.com',
  },
};

describe('telemetry-stack sanitize', () => {
  it('writes the same shape, secrets replaced, everything else byte for byte', async () => {
    const benign = BENIGN.map((text) => ({ body: text, attributes: { value: text } }));
    const { code, stdout, stderr } = await run(['sanitize', '-f', FULL], { stdin: jsonl([secretRecord, ...benign]), env: KEY_ENV });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + benign.length);
    expect(lines.slice(1)).toEqual(benign.map((record) => JSON.stringify(record)));
    const first = JSON.parse(lines[0]!) as typeof secretRecord;
    expect(Object.keys(first)).toEqual(['body', 'attributes']);
    expect(JSON.parse(first.attributes.tool_parameters)).toMatchObject({
      bash_command: 'export DB_PASSWORD=[REDACTED:secret-assignments] && GH_TOKEN=[REDACTED:github-tokens] gh pr create',
      git_commit_id: 'e83c516',
    });
    expect(first.attributes['user.email']).toBe(`[HASH:email-addresses:${sha256('env-keyalice@example.com')}]`);
  });

  it('--explain names the rule, field and line on stderr and leaves stdout the data', async () => {
    const plain = await run(['sanitize', '-f', FULL], { stdin: jsonl([{ body: 'x' }, secretRecord]), env: KEY_ENV });
    const explained = await run(['sanitize', '-f', FULL, '--explain'], { stdin: jsonl([{ body: 'x' }, secretRecord]), env: KEY_ENV });
    expect(explained.stdout).toBe(plain.stdout);
    expect(explained.stderr.trimEnd().split('\n')).toEqual([
      'line 2: attributes.tool_parameters: github-tokens: redacted (1 match)',
      'line 2: attributes.tool_parameters: secret-assignments: redacted (1 match)',
      'line 2: attributes.user.email: email-addresses: hashed (1 match)',
    ]);
  });

  it('applies the level: enhanced removes free text, basic stores no events', async () => {
    const enhanced = stackFile('enhanced.yaml', 'level: enhanced\n');
    const toolResult = { ...secretRecord, attributes: { 'event.name': 'tool_result', ...secretRecord.attributes } };
    const out = await run(['sanitize', '-f', enhanced, '--explain'], { stdin: jsonl([toolResult]), env: KEY_ENV });
    // The allow-list of tool_result: the parameters go, only their name is kept.
    expect(JSON.parse(out.stdout).attributes).toEqual({
      'event.name': 'tool_result',
      tool_name: 'Bash',
      'user.email': `[HASH:email-addresses:${sha256('env-keyalice@example.com')}]`,
      'telemetry_stack.removed_keys': 'tool_parameters',
    });
    expect(out.stderr).toContain('line 1: attributes.tool_parameters: level:enhanced: deleted');
    const basic = await run(['sanitize', '--set', 'level=basic'], { stdin: jsonl([secretRecord, secretRecord]), env: KEY_ENV });
    expect(basic).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('--user stamps the identity over a client-sent value', async () => {
    const { stdout } = await run(['sanitize', '-f', FULL, '--user', 'alice'], { stdin: jsonl([{ attributes: { 'enduser.id': 'mallory' } }]), env: KEY_ENV });
    expect(JSON.parse(stdout)).toEqual({ attributes: { 'enduser.id': 'alice' } });
  });

  describe('hash key', () => {
    const input = jsonl([{ body: 'alice@example.com' }]);

    it('--hash-key-file wins over the environment; a trailing newline is not part of the key', async () => {
      const keyFile = join(dir, 'hash-key');
      writeFileSync(keyFile, 'file-key\n');
      const { stdout } = await run(['sanitize', '-f', FULL, '--hash-key-file', keyFile], { stdin: input, env: KEY_ENV });
      expect(JSON.parse(stdout).body).toBe(`[HASH:email-addresses:${sha256('file-keyalice@example.com')}]`);
    });

    it('without a key: a random one per run, said so on stderr', async () => {
      const one = await run(['sanitize', '-f', FULL], { stdin: input, env: {} });
      const two = await run(['sanitize', '-f', FULL], { stdin: input, env: {} });
      expect(one.stderr).toContain('random key for this run');
      expect(one.stdout).not.toBe(two.stdout);
    });

    it('an unreadable key file is a clear error', async () => {
      const { code, stderr } = await run(['sanitize', '-f', FULL, '--hash-key-file', join(dir, 'missing')], { stdin: input, env: KEY_ENV });
      expect(code).toBe(1);
      expect(stderr).toContain('--hash-key-file');
      expect(stderr).toContain('ENOENT');
    });
  });

  describe('malformed input', () => {
    it.each([
      ['not JSON', '{"body": "x"', 'not valid JSON'],
      ['an array', '["x"]', 'found an array'],
      ['a number body', '{"body": 5}', '"body" is a number'],
      ['an unknown field', '{"body": "x", "resource": {}}', 'unexpected field "resource"'],
      ['a non-string attribute', '{"attributes": {"cost_usd": 0.5}}', 'attribute "cost_usd" is a number'],
    ])('%s on line 3: exits 1 naming the line, after writing lines 1 and 2', async (_, bad, message) => {
      const good = [{ body: 'one' }, { body: `token=${'a1'.repeat(6)}` }];
      const { code, stdout, stderr } = await run(['sanitize', '-f', FULL], { stdin: `${jsonl(good)}${bad}\n{"body": "four"}\n`, env: KEY_ENV });
      expect(code).toBe(1);
      expect(stdout).toBe(`{"body":"one"}\n{"body":"token=[REDACTED:secret-assignments]"}\n`);
      expect(stderr).toContain('<stdin>:3: ');
      expect(stderr).toContain(message);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  });

  it('a stack whose rule cannot compile fails with the rule name', async () => {
    const bad = stackFile('bad.yaml', 'sanitizer:\n  rules:\n    - name: look-behind\n      pattern: "(?<=key=)[a-z]+"\n');
    const { code, stderr } = await run(['sanitize', '-f', bad], { stdin: '', env: KEY_ENV });
    expect(code).toBe(1);
    expect(stderr).toContain('rule "look-behind": pattern is not a valid RE2 pattern');
    const synth = await run(['synth', '-f', bad]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toContain('rule "look-behind"');
  });

  it('as a process: real stdio, exit code 1 on a malformed line after the valid ones', () => {
    const input = `${jsonl([{ body: 'ok' }, { attributes: { prompt: `password: ${shortPassword}x` } }])}{oops\n`;
    const result = spawnSync(process.execPath, ['src/cli/main.ts', 'sanitize', '-f', FULL], { cwd: ROOT, input, encoding: 'utf8', env: { ...process.env, ...KEY_ENV } });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('{"body":"ok"}\n{"attributes":{"prompt":"password: [REDACTED:secret-assignments]"}}\n');
    expect(result.stderr).toMatch(/^telemetry-stack: <stdin>:3: not valid JSON/);
  });

  it('streams: a line is written before the next one is read', async () => {
    const stdin = new PassThrough();
    let stdout = '';
    let notify: () => void = () => {};
    const written = new Promise<void>((resolve) => (notify = resolve));
    const done = main(['sanitize', '-f', FULL], {
      stdin,
      stdout: { write: (chunk: string) => ((stdout += chunk), notify()) },
      stderr: { write: () => true },
      env: KEY_ENV,
    });
    stdin.write('{"body": "first"}\n');
    await written;
    expect(stdout).toBe('{"body":"first"}\n');
    stdin.end('{"body": "second"}\n');
    expect(await done).toBe(0);
    expect(stdout).toBe('{"body":"first"}\n{"body":"second"}\n');
  });
});
