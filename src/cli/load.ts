/** Reading a stack file (a TelemetryStack resource or a bare spec) with errors that point at the file and line. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { isResource } from '../api/validate.ts';
import { UserError } from './errors.ts';

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
      throw new UserError(`${source}${where}: not valid YAML: ${first.message.split('\n')[0]}`);
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
