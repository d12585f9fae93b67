/**
 * `telemetry-stack import [DIR]`: a team's history from before telemetry was on. Reads Claude
 * Code's local transcripts and sends the events and counters the live client would have sent, to
 * the stack and with the credential that `telemetry-stack env` exports, so the collector applies
 * the same identity, level and sanitizer. The engine is src/import/; this file reads the options
 * and prints.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, CommandIo } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { destinationFromEnv, ExportFailure } from '../import/otlp.ts';
import { parseTimeBound, runImport } from '../import/run.ts';
import { ImportState, ImportStateError, statePath } from '../import/state.ts';

const USAGE = `Usage: telemetry-stack import [DIR] [options]

Send the history in Claude Code's local transcripts (DIR, default ~/.claude/projects, or
$CLAUDE_CONFIG_DIR/projects) to your stack: api_request (tokens, estimated cost, model,
duration), user_prompt, tool_decision and tool_result events, and the token, cost and
lines-of-code counters, as the live client sends them. It sends to the endpoint with the credential that
  eval "$(telemetry-stack env --user NAME)"
exports, so the stack stores them under your user, at its level, through its sanitizer.
Prompt text, tool input and the git branch are sent only when those exports turn them on
(level full).

Costs are estimated from the @pydantic/genai-prices price table and stored with
telemetry_stack.imported=true. What this machine sent is recorded in
~/.local/state/telemetry-stack/import/ (one file per stack and credential): importing again
sends only what is new. Import history from before telemetry was on: a session the live client
also reported is counted twice (--until the day you ran env first avoids that).

Options:
      --since WHEN     Only what happened since WHEN: a duration back from now (30m, 12h, 7d, 2w),
                       a day (YYYY-MM-DD, from 00:00 UTC) or an ISO time
      --until WHEN     Only what happened before WHEN (same forms)
      --dry-run        Count what would be sent; send nothing, record nothing
      --endpoint URL   OTLP/HTTP endpoint instead of OTEL_EXPORTER_OTLP_ENDPOINT (the credential
                       still comes from OTEL_EXPORTER_OTLP_HEADERS)
  -o, --output FMT     text (default) or json: the summary on stdout
`;

interface TtyStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** The default directory, as the client chooses it. */
function defaultDir(env: NodeJS.ProcessEnv): string {
  if (env.CLAUDE_CONFIG_DIR) return join(env.CLAUDE_CONFIG_DIR, 'projects');
  return join(env.HOME ?? env.USERPROFILE ?? '.', '.claude', 'projects');
}

const number = (value: number) => value.toLocaleString('en-US');

/** A progress line on a terminal only (never in a pipe or a log), at most ten times a second. */
function progressLine(io: CommandIo) {
  const stream = io.stderr as TtyStream;
  if (stream.isTTY !== true) return { update: undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update: (progress: { file: number; files: number; records: number }) => {
      const now = Date.now();
      if (now - last < 100 && progress.file !== progress.files) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[Kimport: ${progress.file}/${progress.files} transcripts, ${number(progress.records)} records`);
    },
    done: () => {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

export const importCommand: Command = {
  name: 'import',
  summary: "Send Claude Code's local transcripts (the history from before telemetry) to your stack",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        since: { type: 'string' },
        until: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        endpoint: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'text' },
      },
      USAGE,
      true,
    );
    if (positionals.length > 1) throw new UserError(`import: takes one directory, not ${positionals.length} ("${positionals.join('", "')}")`, 2);
    if (values.output !== 'text' && values.output !== 'json') throw new UserError(`import: --output must be text or json, not "${values.output}"`, 2);
    const now = Date.now();
    const bound = (flag: 'since' | 'until') => {
      const text = values[flag];
      if (text === undefined) return undefined;
      const time = parseTimeBound(text, now);
      if (time === undefined) throw new UserError(`import: --${flag} "${text}" is not a duration (30m, 12h, 7d, 2w), a day (YYYY-MM-DD) or an ISO time`, 2);
      return time;
    };
    const since = bound('since');
    const until = bound('until');
    if (since !== undefined && until !== undefined && since >= until) throw new UserError('import: --since must be before --until', 2);

    const dir = positionals[0] ?? defaultDir(io.env);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UserError(`import: ${dir} is not a directory; Claude Code keeps its transcripts in ~/.claude/projects (or $CLAUDE_CONFIG_DIR/projects)`, 1);
    }
    const dryRun = values['dry-run'];
    const found = destinationFromEnv(io.env, values.endpoint);
    if (!found.ok && !dryRun) throw new UserError(`import: ${found.problem}`, 1);
    const destination = found.ok ? found.destination : undefined;
    let state: ImportState | undefined;
    if (destination) {
      const authorization = Object.entries(destination.headers).find(([key]) => key.toLowerCase() === 'authorization')?.[1] ?? '';
      try {
        state = ImportState.load(statePath(io.env, destination.logsUrl, authorization), destination.logsUrl);
      } catch (error) {
        if (error instanceof ImportStateError) throw new UserError(`import: ${error.message}`, 1);
        throw error;
      }
    }
    if (destination && !destination.logs) io.stderr.write('note: OTEL_LOGS_EXPORTER=none (level basic stores counters only): only the counters (tokens, cost, lines of code) are sent\n');
    if (dryRun && !destination) io.stderr.write(`note: ${found.ok ? '' : found.problem}; counting every record as new\n`);

    // The price table (a large module) loads only when there is something to price.
    const { estimateCost, PRICE_TABLE } = await import('../import/pricing.ts');
    const progress = progressLine(io);
    let summary;
    try {
      summary = await runImport({
        dir,
        since,
        until,
        mapping: {
          prompts: io.env.OTEL_LOG_USER_PROMPTS === '1',
          toolDetails: io.env.OTEL_LOG_TOOL_DETAILS === '1',
          repository: io.env.OTEL_METRICS_INCLUDE_REPOSITORY === 'true',
          price: estimateCost,
        },
        send: dryRun || !destination || !state ? undefined : { destination, state },
        imported: state ? (key) => state.has(key) : undefined,
        progress: progress.update,
      });
    } catch (error) {
      progress.done();
      if (error instanceof ExportFailure) {
        throw new UserError(`import: ${error.message}. What was accepted before is recorded; run import again to send the rest`, 1);
      }
      if (error instanceof ImportStateError) throw new UserError(`import: ${error.message}`, 1);
      throw error;
    }
    progress.done();

    for (const problem of summary.problems) {
      const where = problem.line > 0 ? `${join(dir, problem.file)}:${problem.line}` : join(dir, problem.file);
      io.stderr.write(`telemetry-stack: import: ${where}: ${problem.problem}; ${problem.line > 0 ? 'the line was' : 'it was'} skipped (the rest was imported)\n`);
    }
    if (summary.incomplete > 0) {
      io.stderr.write(`note: ${summary.incomplete} transcript${summary.incomplete === 1 ? ' ends' : 's end'} in a line still being written (a running session): the next import reads it\n`);
    }
    for (const [model, requests] of Object.entries(summary.unpriced)) {
      io.stderr.write(`note: ${PRICE_TABLE} has no price for ${model} (${requests} request${requests === 1 ? '' : 's'}): imported with tokens and without a cost\n`);
    }
    if (values.output === 'json') {
      io.stdout.write(`${JSON.stringify({ dryRun, directory: dir, ...summary, priceTable: PRICE_TABLE }, null, 2)}\n`);
    } else {
      const events = Object.entries(summary.events)
        .filter(([, n]) => n > 0)
        .map(([event, n]) => `${number(n)} ${event}`);
      const what = `${number(summary.sessions)} session${summary.sessions === 1 ? '' : 's'} from ${number(summary.files)} transcript${summary.files === 1 ? '' : 's'}`;
      io.stdout.write(
        `${dryRun ? 'would import' : 'imported'} ${what}: ${events.length > 0 ? events.join(', ') : 'no events'}, ${number(summary.points)} counter points\n` +
          `tokens: ${number(summary.tokens.input)} input, ${number(summary.tokens.output)} output, ${number(summary.tokens.cacheRead)} cache read, ${number(summary.tokens.cacheCreation)} cache creation; lines of code: ${number(summary.lines.added)} added, ${number(summary.lines.removed)} removed\n` +
          `estimated cost: $${summary.costUsd.toFixed(6)} (${PRICE_TABLE}; stored with telemetry_stack.imported=true)\n` +
          `left out: ${number(summary.alreadyImported)} already imported, ${number(summary.outOfRange)} outside --since/--until\n`,
      );
    }
    return summary.problems.length > 0 ? 1 : 0;
  },
};
