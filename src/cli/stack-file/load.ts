/** Reading a stack file (a TelemetryStack resource or a bare spec) with errors that point at the file and line. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { TelemetryStack } from '../../api/resource.ts';
import { isResource, validateStack } from '../../api/validate.ts';
import { UserError } from '../framework/io.ts';
import { applySet } from './set-values.ts';
import { nearest } from '../framework/suggest.ts';

export interface LoadedStack {
  /** What to call the input in messages: the file path or "<stdin>". */
  readonly source: string;
  readonly document: Record<string, unknown>;
}

export function readStackFile(path: string): LoadedStack {
  const source = path === '-' ? '<stdin>' : path;
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `${source}: no such file; pass an existing stack file with -f (see examples/)` : `${source}: cannot read (${code ?? String(error)})`,
    );
  }
  return { source, document: parseStackText(text, source) };
}

export function parseStackText(text: string, source: string): Record<string, unknown> {
  const documents = parseAllDocuments(text).filter((doc) => doc.contents !== null || doc.errors.length > 0);
  for (const doc of documents) {
    const [first] = doc.errors;
    if (first) {
      const where = first.linePos?.[0] ? `:${first.linePos[0].line}:${first.linePos[0].col}` : '';
      // yaml's message is "<what> at line L, column C:\n\n<the lines>\n<caret>": keep the frame, indented.
      const [headline = '', ...rest] = first.message.split('\n');
      const frame = rest.join('\n').replace(/^\n+|\n+$/g, '');
      const what = headline.replace(/ at line \d+, column \d+:?$/, '');
      throw new UserError(`${source}${where}: not valid YAML: ${what}${frame ? `\n${frame.replace(/^/gm, '  ').replace(/^ +$/gm, '')}` : ''}`);
    }
  }
  if (documents.length === 0) return {};
  if (documents.length > 1) {
    throw new UserError(`${source}: holds ${documents.length} YAML documents; put one TelemetryStack (or one bare spec) per file`);
  }
  const value: unknown = documents[0]!.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${source}: expected a TelemetryStack resource or a spec mapping, found a ${Array.isArray(value) ? 'list' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** The spec part of a document, created if missing, so --set can write into it. */
export function specOf(document: Record<string, unknown>): Record<string, unknown> {
  if (!isResource(document)) return document;
  if (typeof document.spec !== 'object' || document.spec === null) document.spec = {};
  return document.spec as Record<string, unknown>;
}

/** Loads, overrides and validates; every problem names the source, the field path and what is wrong. */
export function loadStack(options: { file?: string | undefined; set: readonly string[]; name?: string | undefined; namespace?: string | undefined }): TelemetryStack {
  const { source, document } = options.file ? readStackFile(options.file) : { source: '<defaults>', document: {} };
  const spec = specOf(document);
  for (const assignment of options.set) applySet(spec, assignment);
  if (options.namespace && 'metadata' in document && typeof document.metadata === 'object' && document.metadata) {
    (document.metadata as Record<string, unknown>).namespace = options.namespace;
  }
  const result = validateStack(document, { name: options.name, namespace: options.namespace });
  if (!result.ok) {
    const lines = result.problems.map((problem) => `  ${problem.path}: ${withChoiceHint(document, problem)}`);
    throw new UserError(`${source}: invalid TelemetryStack (${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}):\n${lines.join('\n')}`);
  }
  return result.stack;
}

/**
 * A "must be one of" problem (a preset, a level, a role) leads with the choice the given value was
 * probably meant to be; the full list of choices follows.
 */
function withChoiceHint(document: Record<string, unknown>, problem: { path: string; message: string }): string {
  const choices = /^must be one of (.*)$/.exec(problem.message)?.[1];
  if (choices === undefined) return problem.message;
  // A bare spec's problems are reported from "spec." like a resource's.
  let node: unknown = isResource(document) ? document : { spec: document };
  for (const segment of problem.path.match(/[^.[\]]+/g) ?? []) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  if (typeof node !== 'string') return problem.message;
  const found = nearest(node, [...choices.matchAll(/"([^"]*)"/g)].map((match) => match[1]!));
  if (found.length === 0) return problem.message;
  return `"${node}" is not one of the choices; did you mean ${found.map((name) => `"${name}"`).join(' or ')}? (${problem.message})`;
}
