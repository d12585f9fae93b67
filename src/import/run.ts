/**
 * The import: every transcript under a directory, mapped to records (events.ts), filtered by
 * time, without the records this machine already sent to the destination (state.ts) or saw earlier
 * in the same run (a resumed session's file repeats earlier messages), sent in batches (otlp.ts).
 * A batch's keys are committed to the state only after the collector accepted it. A dry run reads
 * and counts the same way and sends and commits nothing.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { type ImportedEvent, type ImportRecord, type MappingOptions, recordsOfTranscript } from './events.ts';
import { counterPoints, logsRequest, metricsRequest, type OtlpDestination, postOtlp } from './otlp.ts';
import type { ImportState } from './state.ts';
import { parseTranscript, type TranscriptProblem, transcriptFiles } from './transcript.ts';

export interface ImportOptions {
  readonly dir: string;
  /** Milliseconds since the epoch; records before it are left out. */
  readonly since?: number | undefined;
  /** Records at or after it are left out. */
  readonly until?: number | undefined;
  readonly mapping: MappingOptions;
  /** Undefined: a dry run (count only). */
  readonly send?: { readonly destination: OtlpDestination; readonly state: ImportState } | undefined;
  /** Already imported keys, for a dry run's count (the state of the destination, when known). */
  readonly imported?: ((key: string) => boolean) | undefined;
  readonly progress?: ((progress: ImportProgress) => void) | undefined;
  /** Records per OTLP request (default 500: far below the collector's 4 MiB request limit). */
  readonly batchSize?: number;
}

export interface ImportProgress {
  readonly file: number;
  readonly files: number;
  readonly records: number;
}

export interface ImportSummary {
  readonly files: number;
  readonly sessions: number;
  readonly events: Record<ImportedEvent, number>;
  /** Counter points (tokens, cost, lines of code). */
  readonly points: number;
  readonly tokens: { input: number; output: number; cacheRead: number; cacheCreation: number };
  /** Lines of code the file edits added and removed. */
  readonly lines: { added: number; removed: number };
  /** Estimated USD of the requests counted. */
  readonly costUsd: number;
  /** Requests whose model the price table does not know, per model (imported with no cost). */
  readonly unpriced: Record<string, number>;
  /** Records left out: already imported earlier, or outside --since/--until. */
  readonly alreadyImported: number;
  readonly outOfRange: number;
  readonly problems: readonly TranscriptProblem[];
  /** Files whose last line is still being written. */
  readonly incomplete: number;
}

/** Below the collector's 4 MiB request limit with room for the envelope: prompts sent at level full can be long. */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

/** Records in runs whose attributes stay under MAX_REQUEST_BYTES (a single larger record goes alone). */
function bySize(records: readonly ImportRecord[]): ImportRecord[][] {
  const parts: ImportRecord[][] = [];
  let part: ImportRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(JSON.stringify(record.attributes)) * 2;
    if (part.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(record);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const files = transcriptFiles(options.dir);
  const batchSize = options.batchSize ?? 500;
  const events: Record<ImportedEvent, number> = { api_request: 0, user_prompt: 0, tool_result: 0, tool_decision: 0 };
  const tokens = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
  const lines = { added: 0, removed: 0 };
  const unpriced: Record<string, number> = {};
  const problems: TranscriptProblem[] = [];
  const sessions = new Set<string>();
  const seen = new Set<string>();
  let points = 0;
  let costUsd = 0;
  let alreadyImported = 0;
  let outOfRange = 0;
  let incomplete = 0;
  let counted = 0;
  let pending: ImportRecord[] = [];

  const flush = async () => {
    if (pending.length === 0 || !options.send) return;
    const { destination, state } = options.send;
    const batch = pending;
    pending = [];
    if (destination.logs) for (const part of bySize(batch)) await postOtlp(destination.logsUrl, destination.headers, logsRequest(part));
    const counters = batch.flatMap(counterPoints);
    if (destination.metrics && counters.length > 0) await postOtlp(destination.metricsUrl, destination.headers, metricsRequest(counters));
    state.commit(batch.map((record) => record.key));
  };

  for (const [index, file] of files.entries()) {
    const name = relative(options.dir, file) || file;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // Deleted since the listing, or not ours to read: named, and the others are imported.
      problems.push({ file: name, line: 0, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      continue;
    }
    const parsed = parseTranscript(text, name);
    problems.push(...parsed.problems);
    if (parsed.incompleteTail) incomplete++;
    for (const record of recordsOfTranscript(parsed.entries, options.mapping)) {
      if ((options.since !== undefined && record.time < options.since) || (options.until !== undefined && record.time >= options.until)) {
        outOfRange++;
        continue;
      }
      if (seen.has(record.key)) continue;
      seen.add(record.key);
      if (options.send ? options.send.state.has(record.key) : options.imported?.(record.key)) {
        alreadyImported++;
        continue;
      }
      sessions.add(record.sessionId);
      events[record.event]++;
      counted++;
      if (record.usage) {
        const usage = record.usage;
        tokens.input += usage.tokens.input;
        tokens.output += usage.tokens.output;
        tokens.cacheRead += usage.tokens.cacheRead;
        tokens.cacheCreation += usage.tokens.cacheCreation;
        if (usage.costUsd === undefined) unpriced[usage.model] = (unpriced[usage.model] ?? 0) + 1;
        else costUsd += usage.costUsd;
      }
      if (record.lines) {
        lines.added += record.lines.added;
        lines.removed += record.lines.removed;
      }
      points += counterPoints(record).length;
      pending.push(record);
      if (pending.length >= batchSize) await flush();
      if (!options.send) pending = [];
    }
    options.progress?.({ file: index + 1, files: files.length, records: counted });
  }
  await flush();
  return {
    files: files.length,
    sessions: sessions.size,
    events,
    points,
    tokens,
    lines,
    costUsd: Math.round(costUsd * 1e9) / 1e9,
    unpriced,
    alreadyImported,
    outOfRange,
    problems,
    incomplete,
  };
}

/**
 * --since/--until: a duration back from now (30m, 12h, 7d, 2w) or a date (YYYY-MM-DD, the start of
 * that day in UTC, as the reports' days are) or an ISO time. Undefined when it is none of these.
 */
export function parseTimeBound(text: string, now: number): number | undefined {
  const duration = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (duration) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[duration[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(duration[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(text.trim())) {
    const day = Date.parse(`${text.trim()}T00:00:00Z`);
    return Number.isNaN(day) ? undefined : day;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text.trim())) {
    const time = Date.parse(text.trim());
    return Number.isNaN(time) ? undefined : time;
  }
  return undefined;
}
