/**
 * `telemetry-stack sanitize`: JSON Lines in, JSON Lines out, through the preview engine,
 * i.e. what the stack's collector would store for each record. Streams: each line is
 * written as soon as it is read, so a malformed line stops the run after every valid line
 * before it has been written.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HASH_KEY_ENV } from '../sanitizer/compile.ts';
import { SanitizerPreview, type Firing, type PreviewRecord } from '../sanitizer/preview.ts';
import { type Command, type CommandIo, defineCommand, UserError } from './command.ts';
import { loadStack } from './stack-file/load.ts';

/** The hash key: file, then environment, then a fresh random one (with a note). */
function hashKey(file: string | undefined, env: NodeJS.ProcessEnv, note: (text: string) => void): string {
  if (file !== undefined) {
    try {
      // A Secret's value written to a file usually ends with a newline the collector never sees.
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new UserError(`--hash-key-file ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  const fromEnv = env[HASH_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  note(
    `sanitize: no hash key given (--hash-key-file or ${HASH_KEY_ENV}); hashing with a random key for this run, so hashes will not match the collector's\n`,
  );
  return randomBytes(32).toString('hex');
}

/** Parses one input line into a record, or says exactly what is wrong with it. */
function parseRecord(line: string, lineNumber: number): PreviewRecord {
  const where = `<stdin>:${lineNumber}`;
  const shape = 'each line must be a JSON object {"body": string, "attributes": {string: string}}';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new UserError(`${where}: not valid JSON (${(error as Error).message}); ${shape}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${where}: found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}; ${shape}`);
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => key !== 'body' && key !== 'attributes');
  if (unknown.length > 0) throw new UserError(`${where}: unexpected field ${JSON.stringify(unknown[0])}; ${shape}`);
  if (record.body !== undefined && typeof record.body !== 'string') {
    throw new UserError(`${where}: "body" is a ${typeof record.body}; ${shape}`);
  }
  const attributes = record.attributes;
  if (attributes !== undefined) {
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
      throw new UserError(`${where}: "attributes" is not an object; ${shape}`);
    }
    for (const [key, attribute] of Object.entries(attributes)) {
      if (typeof attribute !== 'string') {
        throw new UserError(
          `${where}: attribute ${JSON.stringify(key)} is a ${attribute === null ? 'null' : typeof attribute}; the collector's tables store attributes as strings, so pass ${JSON.stringify(String(attribute))}`,
        );
      }
    }
  }
  return record as PreviewRecord;
}

function explainLine(lineNumber: number, firing: Firing): string {
  const count = firing.matches !== undefined ? ` (${firing.matches} match${firing.matches === 1 ? '' : 'es'})` : '';
  return `line ${lineNumber}: ${firing.field}: ${firing.rule}: ${firing.effect}${count}\n`;
}

/** Writes and, when the stream asks for it (a slow pipe), waits for it to drain before reading on. */
async function write(stream: CommandIo['stdout'], text: string): Promise<void> {
  const drained = stream.write(text);
  if (drained === false && 'once' in stream && typeof stream.once === 'function') {
    await new Promise<void>((resolve) => (stream as NodeJS.WritableStream).once('drain', () => resolve()));
  }
}

export const sanitizeCommand: Command = defineCommand({
  name: 'sanitize',
  summary: 'Show what the stack would store for JSON Lines records (sanitizer and level preview)',
  synopsis: ['[options] < records.jsonl > stored.jsonl'],
  description: `Show what the stack would store: reads JSON Lines on stdin, one log record per line,
  {"body": "...", "attributes": {"key": "value", ...}}   (both fields optional)
applies the stack's level and sanitizer rules exactly as its collector does, and writes
the same shape on stdout. Records the level does not store (basic) produce no line;
blank lines are skipped. Records are log records: rules that target only
resourceAttributes or metricAttributes do not apply to them.`,
  flags: {
    file: { type: 'string', short: 'f', value: 'FILE', complete: 'file', help: 'TelemetryStack resource or bare spec (YAML); omitted: all defaults' },
    set: { type: 'list', value: 'PATH=VALUE', help: 'Override a spec field, e.g. --set level=enhanced (repeatable)' },
    explain: { type: 'boolean', help: 'Also report on stderr which rule changed which field of which line' },
    user: { type: 'string', value: 'NAME', help: 'Stamp enduser.id as the collector does for an authenticated user' },
    'hash-key-file': {
      type: 'string',
      value: 'FILE',
      complete: 'file',
      help: `Hash key, to get the collector's exact hashes: the stack's Secret
  kubectl get secret <stack>-sanitizer-key -o jsonpath='{.data.hash-key}' | base64 -d > key
otherwise $\${HASH_KEY_ENV}; otherwise a random key for this run only
(hashes then differ from the collector's; a note says so on stderr)`,
    },
  },
  footer: 'Exit codes: 0 all lines processed; 1 a line is not a record (named by its line number).',
  async run({ values }, io) {
    const stack = loadStack({ file: values.file, set: values.set });
    const key = hashKey(values['hash-key-file'], io.env, (text) => io.stderr.write(text));
    const preview = new SanitizerPreview(stack.spec, { hashKey: key, user: values.user });
    const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      const result = preview.apply(parseRecord(line, lineNumber));
      if (values.explain) for (const firing of result.firings) io.stderr.write(explainLine(lineNumber, firing));
      if (result.record) await write(io.stdout, `${JSON.stringify(result.record)}\n`);
    }
    return 0;
  },
});
