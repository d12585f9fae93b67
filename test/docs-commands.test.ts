/**
 * Every `telemetry-stack ...` command in docs/*.md and the README is one the CLI has: the
 * subcommand exists and each flag appears in that command's own --help. The README's
 * quickstart is the QUICKSTART's first screen, word for word.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/cli/framework/command.ts';
import { BUILT_IN, COMMANDS } from '../src/cli/main.ts';
import { ROOT } from '../harness/stacks.ts';

const DOC_FILES = [...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md'];

export interface DocCommand {
  file: string;
  line: number;
  text: string;
  subcommand: string;
  flags: string[];
}

/** Commands in fenced code blocks (whole lines) and inline code spans. */
export function docCommands(file: string, text: string): DocCommand[] {
  const found: DocCommand[] = [];
  let fenced = false;
  text.split('\n').forEach((raw, index) => {
    if (/^\s*```/.test(raw)) {
      fenced = !fenced;
      return;
    }
    const pieces = fenced ? [raw] : [...raw.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const piece of pieces) {
      for (const match of piece.matchAll(/(?:^|[\s("$])telemetry-stack\s+([^|;&>)"#`]*)/g)) {
        const words = match[1]!.trim().split(/\s+/).filter((w) => w !== '');
        if (words.length === 0 || !/^([a-z][-a-z]*|--help)$/.test(words[0]!)) continue;
        const [subcommand, ...rest] = words;
        found.push({
          file,
          line: index + 1,
          text: `telemetry-stack ${words.join(' ')}`,
          subcommand: subcommand!,
          flags: rest.filter((w) => /^--?[a-zA-Z]/.test(w)).map((w) => w.split('=')[0]!),
        });
      }
    }
  });
  return found;
}

const all = DOC_FILES.flatMap((file) => docCommands(file, readFileSync(join(ROOT, file), 'utf8')));

describe('commands in the docs', () => {
  it('finds the commands (the extraction itself works)', () => {
    expect(docCommands('x.md', 'run `telemetry-stack env --user me -n team` then\n```sh\neval "$(telemetry-stack env --user me)"\ntelemetry-stack up -f s.yaml # comment\n```\n')).toEqual([
      { file: 'x.md', line: 1, text: 'telemetry-stack env --user me -n team', subcommand: 'env', flags: ['--user', '-n'] },
      { file: 'x.md', line: 3, text: 'telemetry-stack env --user me', subcommand: 'env', flags: ['--user'] },
      { file: 'x.md', line: 4, text: 'telemetry-stack up -f s.yaml', subcommand: 'up', flags: ['-f'] },
    ]);
    expect(all.length).toBeGreaterThan(30);
    for (const doc of ['docs/QUICKSTART.md', 'docs/TROUBLESHOOTING.md', 'docs/OPERATIONS.md', 'docs/MIGRATION.md', 'docs/FAQ.md']) {
      expect(all.some((c) => c.file === doc), `${doc} shows at least one command`).toBe(true);
    }
  });

  it('every subcommand exists and every flag is in that command\'s --help', async () => {
    const problems: string[] = [];
    for (const command of all) {
      const where = `${command.file}:${command.line}: ${command.text}`;
      // Answered by main.ts itself, with no module: help, completion, version.
      if (command.subcommand === '--help' || BUILT_IN.some((builtIn) => builtIn.name === command.subcommand)) continue;
      const entry = COMMANDS.find((c) => c.name === command.subcommand);
      const cli = entry && { name: entry.name, usage: (await entry.load()).usage };
      if (!cli) {
        problems.push(`${where}: no command "${command.subcommand}"`);
        continue;
      }
      for (const flag of command.flags) {
        if (flag === '--help' || flag === '-h') continue;
        const escaped = flag.replace(/[-]/g, '\\-');
        if (!new RegExp(`(^|[\\s,\\[(])${escaped}(?=[\\s,=\\])]|$)`, 'm').test(cli.usage)) problems.push(`${where}: "${flag}" is not in "telemetry-stack ${cli.name} --help"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every value the docs give an option with choices or a duration is one it takes', async () => {
    const problems: string[] = [];
    for (const command of all) {
      const entry = COMMANDS.find((c) => c.name === command.subcommand);
      const flags = entry && (await entry.load()).flags;
      if (!flags) continue;
      const words = command.text.split(/\s+/).slice(2);
      words.forEach((word, index) => {
        const [spelled, inline] = word.split('=') as [string, string | undefined];
        const declared = Object.entries(flags).find(([name, flag]) => spelled === `--${name}` || (flag.short !== undefined && spelled === `-${flag.short}`));
        const value = inline ?? words[index + 1];
        // A placeholder (NAME, "$STACK") stands for the reader's own value.
        if (!declared || value === undefined || /^[A-Z"$<]/.test(value)) return;
        const [name, flag] = declared;
        if (flag.type !== 'duration' && !(flag.type === 'string' && flag.choices)) return;
        try {
          parseCommandLine({ name: command.subcommand, flags: { [name]: flag } }, [`--${name}`, value]);
        } catch (error) {
          problems.push(`${command.file}:${command.line}: ${command.text}: ${(error as Error).message}`);
        }
      });
    }
    expect(problems).toEqual([]);
  });

  it('the README quickstart is the first screen of docs/QUICKSTART.md', () => {
    const section = (file: string) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const match = /<!-- quickstart:begin -->\n([\s\S]*?)<!-- quickstart:end -->/.exec(text);
      expect(match, `${file} has the quickstart markers`).not.toBeNull();
      return match![1]!;
    };
    const screen = section('docs/QUICKSTART.md');
    expect(section('README.md')).toBe(screen);
    expect(screen.split('\n').length).toBeLessThanOrEqual(40);
  });
});

/** Lines of the README's code blocks that write a command's output to a file: `... > FILE`. */
export function redirectedCommands(text: string): { command: string; target: string }[] {
  const found: { command: string; target: string }[] = [];
  let fenced = false;
  for (const raw of text.split('\n')) {
    if (/^\s*```/.test(raw)) fenced = !fenced;
    else if (fenced) {
      const line = raw.replace(/\s+#.*$/, '').replace(/^npm install && /, '');
      const match = /^((?:npx|npm run -s) [^<>|]*?)\s*>\s*(\S+)$/.exec(line);
      if (match) found.push({ command: match[1]!, target: match[2]! });
    }
  }
  return found;
}

describe('commands the README redirects to a file write only their output', () => {
  const commands = redirectedCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('finds them: the first command, a synth with secrets and a JSON report', () => {
    expect(commands.map((c) => c.target)).toEqual(expect.arrayContaining(['stack.yaml', 'stack-manifests.yaml', 'stack-with-secrets.yaml', 'trace.json']));
  });

  // The real process through npm, as a reader types it: npm's own lines (the "> telemetry-stack@0.1.0
  // synth" header of `npm run`) must not reach the file, so kubectl apply -f and JSON.parse take it.
  it.each(commands)('$command > $target', ({ command, target }) => {
    const dir = mkdtempSync(join(tmpdir(), 'docs-redirect-'));
    const file = join(dir, target);
    const result = spawnSync('sh', ['-c', `${command} > '${file}'`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' },
    });
    expect(result.status, result.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    if (target.endsWith('.json')) {
      expect(Array.isArray(JSON.parse(text))).toBe(true);
    } else {
      const documents = parseAllDocuments(text);
      expect(documents.flatMap((doc) => doc.errors)).toEqual([]);
      const kinds = documents.map((doc) => (doc.toJS() as { kind?: string }).kind);
      expect(kinds.length).toBeGreaterThan(5);
      expect(kinds.every((kind) => typeof kind === 'string')).toBe(true);
    }
  }, 180_000);
});
