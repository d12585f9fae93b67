/**
 * What this machine already imported into a stack: the keys of the records (API message ids,
 * prompt uuids, tool call ids) the collector accepted, one file per destination (endpoint and
 * credential, hashed: the file never holds the credential). A key is added only after the
 * collector answered 2xx for its batch, so an interrupted import resumes where it stopped.
 *
 * Why a local file rather than asking the stack: at level basic the stack stores no events, so it
 * has no ids to ask about, and a member's ingestion credential cannot read anything; and the raw
 * tables are the collector exporter's (plain MergeTree) so a deterministic id would not
 * deduplicate there either. The limits are the file's: another machine, or a deleted file,
 * imports again (docs/QUICKSTART.md says so).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The file's first line; one key a line follows, appended batch by batch (no rewrite of what is there). */
interface StateHeader {
  readonly version: 1;
  readonly endpoint: string;
}

/** ~/.local/state/telemetry-stack/import/<hash>.state ($XDG_STATE_HOME when set). */
export function statePath(env: NodeJS.ProcessEnv, endpoint: string, authorization: string): string {
  const home = env.HOME ?? env.USERPROFILE ?? '.';
  const root = env.XDG_STATE_HOME && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  const id = createHash('sha256').update(`${endpoint}\n${authorization}`).digest('hex').slice(0, 16);
  return join(root, 'telemetry-stack', 'import', `${id}.state`);
}

/** The state file cannot be read or written: a one-line message naming it and the fix. */
export class ImportStateError extends Error {}

export class ImportState {
  readonly path: string;
  private readonly endpoint: string;
  private readonly keys: Set<string>;
  /** The file ends without a newline (a crash cut the last append): the next append starts a new line. */
  private cut: boolean;
  private constructor(path: string, endpoint: string, keys: Iterable<string>, cut = false) {
    this.path = path;
    this.endpoint = endpoint;
    this.keys = new Set(keys);
    this.cut = cut;
  }

  /** The state at `path`; empty when there is none. A damaged file is a one-line error naming it. */
  static load(path: string, endpoint: string): ImportState {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new ImportState(path, endpoint, []);
      throw new ImportStateError(`${path}: cannot read the import state (${(error as Error).message})`);
    }
    const [header, ...keys] = text.split('\n');
    try {
      const parsed = JSON.parse(header ?? '') as Partial<StateHeader>;
      if (parsed.version !== 1) throw new Error('its first line is not the state header');
    } catch (error) {
      throw new ImportStateError(`${path}: the import state is damaged (${(error as Error).message}); delete it to import everything again`);
    }
    // A line cut by a crash in the middle of an append is a key that was never whole: ignored, its record sent again.
    return new ImportState(path, endpoint, keys.filter((key) => key !== ''), !text.endsWith('\n'));
  }

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /**
   * Records keys: appended to the file (its header written first when it is new), so a long
   * history costs one write per batch, not a rewrite of everything imported so far.
   */
  commit(keys: Iterable<string>): void {
    const added = [...keys].filter((key) => !this.keys.has(key));
    try {
      if (!existsSync(this.path)) {
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
        const header: StateHeader = { version: 1, endpoint: this.endpoint };
        writeFileSync(this.path, `${JSON.stringify(header)}\n`, { mode: 0o600 });
      }
      if (added.length > 0) appendFileSync(this.path, `${this.cut ? '\n' : ''}${added.join('\n')}\n`);
      this.cut = false;
    } catch (error) {
      throw new ImportStateError(`${this.path}: cannot write the import state (${(error as Error).message}); what was sent is not recorded, so the next import sends it again`);
    }
    for (const key of added) this.keys.add(key);
  }
}
