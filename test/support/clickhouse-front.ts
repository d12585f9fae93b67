/**
 * ClickHouse's HTTP interface as the collector's ClickHouse exporter (contrib 0.161.0, clickhouse-go
 * v2 over HTTP) speaks it, in front of the embedded engine (chdb), so the real exporter can write
 * into the project's migrated tables in a test.
 *
 * What clickhouse-go sends, and what this answers (read from conn_http*.go):
 * - every request is a POST with `default_format=Native`, `client_protocol_version=N`, `database`,
 *   and the user in X-ClickHouse-User / X-ClickHouse-Key (Basic also accepted);
 * - queries (the `SELECT displayName(), version(), revision(), timezone()` handshake, the exporter's
 *   `DESC TABLE "db"."t"` probe) carry the SQL in the body; the answer is a Native block in the
 *   TCP protocol's layout (block info, a custom-serialization flag per column) since the client
 *   decodes it with the server revision;
 * - inserts carry `query=INSERT INTO t (cols) FORMAT Native` in the URL and a Native block
 *   (revision 0) in the body;
 * - with `compress` lz4 or zstd (the exporter's default is lz4) the client adds `compress=1` (and
 *   `decompress=1` on inserts): bodies both ways are ClickHouse's compressed blocks (a CityHash128
 *   checksum, a method byte, two sizes, the data), error bodies too.
 *
 * The SQL and the Native parsing are the engine's: an insert body is handed to chdb as a file
 * (`INSERT INTO t (cols) SELECT * FROM file(path, Native)`), and so is ZSTD (a block's payload is
 * a zstd frame: `file(path, RawBLOB, ..., 'zstd')`; Node 20 has no zstd). Only the framing, the
 * checksum, LZ4 and the small answer blocks are ours; answers go out as LZ4 blocks whatever the
 * client compressed with, as ClickHouse's do (its network compression method, LZ4 by default).
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlTarget } from '../../src/clickhouse/target.ts';
import { authenticate, clickhouseError } from './clickhouse-http.ts';

export interface ClickHouseFront {
  readonly port: number;
  readonly endpoint: string;
  /** user name -> password. */
  readonly users: Map<string, string>;
  /** Every statement that ran, with the user, how its body was compressed (inserts) and the rows it carried. */
  readonly log: { user: string; sql: string; compression?: BlockMethod; rows?: number }[];
  /** Answer every request with this error until it is cleared (an outage that still accepts connections). */
  failWith: { code: number; type: string; message: string } | undefined;
  /** Asked after each insert has run (with its statement): true drops the connection instead of answering (the answer lost: a timeout, a reset). */
  loseInsertAnswer: ((sql: string) => boolean) | undefined;
  /**
   * An outage that refuses connections: stops listening, and a request on a connection still open
   * is dropped unread. Requests already being served finish and are answered, so an outage never
   * loses an answer to an insert that ran (loseInsertAnswer does that, on purpose).
   */
  stopListening(): Promise<void>;
  /** Listens again on the same port, after stopListening. */
  listenAgain(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- CityHash128 (ClickHouse's, CityHash v1.0.2)

const M64 = (1n << 64n) - 1n;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;
const K3 = 0xc949d7c7509e6557n;
const KMUL = 0x9ddfea08eb382d69n;

const u64 = (b: Buffer, at: number) => b.readBigUInt64LE(at);
const u32 = (b: Buffer, at: number) => BigInt(b.readUInt32LE(at));
const rot = (v: bigint, s: bigint) => (s === 0n ? v : ((v >> s) | (v << (64n - s))) & M64);
const mix = (v: bigint) => v ^ (v >> 47n);
const mul = (a: bigint, b: bigint) => (a * b) & M64;
const add = (...values: bigint[]) => values.reduce((a, b) => a + b, 0n) & M64;

function hash16(u: bigint, v: bigint): bigint {
  let a = mul(u ^ v, KMUL);
  a ^= a >> 47n;
  let b = mul(v ^ a, KMUL);
  b ^= b >> 47n;
  return mul(b, KMUL);
}

function hash0to16(s: Buffer, length: number): bigint {
  const len = BigInt(length);
  if (length > 8) {
    const a = u64(s, 0);
    const b = u64(s, length - 8);
    return hash16(a, rot(add(b, len), len)) ^ b;
  }
  if (length >= 4) return hash16(add(len, (u32(s, 0) << 3n) & M64), u32(s, length - 4));
  if (length > 0) {
    const y = BigInt(s[0]! + (s[length >> 1]! << 8));
    const z = BigInt(length + (s[length - 1]! << 2));
    return mul(mix(mul(y, K2) ^ mul(z, K3)), K2);
  }
  return K2;
}

function weak32(s: Buffer, at: number, a: bigint, b: bigint): [bigint, bigint] {
  const w = u64(s, at);
  const x = u64(s, at + 8);
  const y = u64(s, at + 16);
  const z = u64(s, at + 24);
  a = add(a, w);
  b = rot(add(b, a, z), 21n);
  const c = a;
  a = add(a, x, y);
  b = add(b, rot(a, 44n));
  return [add(a, z), add(b, c)];
}

function murmur(s: Buffer, seedLow: bigint, seedHigh: bigint): [bigint, bigint] {
  const length = s.length;
  let a = seedLow;
  let b = seedHigh;
  let c: bigint;
  let d: bigint;
  let l = length - 16;
  if (length <= 16) {
    a = mul(mix(mul(a, K1)), K1);
    c = add(mul(b, K1), hash0to16(s, length));
    d = mix(add(a, length >= 8 ? u64(s, 0) : c));
  } else {
    c = hash16(add(u64(s, length - 8), K1), a);
    d = hash16(add(b, BigInt(length)), add(c, u64(s, length - 16)));
    a = add(a, d);
    let at = 0;
    do {
      a ^= mul(mix(mul(u64(s, at), K1)), K1);
      a = mul(a, K1);
      b ^= a;
      c ^= mul(mix(mul(u64(s, at + 8), K1)), K1);
      c = mul(c, K1);
      d ^= c;
      at += 16;
      l -= 16;
    } while (l > 0);
  }
  a = hash16(a, c);
  b = hash16(d, b);
  return [a ^ b, hash16(b, a)];
}

function city128Seed(s: Buffer, seedLow: bigint, seedHigh: bigint): [bigint, bigint] {
  if (s.length < 128) return murmur(s, seedLow, seedHigh);
  const t = s;
  let v: [bigint, bigint] = [0n, 0n];
  let w: [bigint, bigint] = [0n, 0n];
  let x = seedLow;
  let y = seedHigh;
  let z = mul(BigInt(s.length), K1);
  v[0] = add(mul(rot(y ^ K1, 49n), K1), u64(s, 0));
  v[1] = add(mul(rot(v[0], 42n), K1), u64(s, 8));
  w[0] = add(mul(rot(add(y, z), 35n), K1), x);
  w[1] = mul(rot(add(x, u64(s, 88)), 53n), K1);
  let at = 0;
  let left = s.length;
  while (left >= 128) {
    for (const offset of [0, 64]) {
      const o = at + offset;
      x = mul(rot(add(x, y, v[0], u64(s, o + 16)), 37n), K1);
      y = mul(rot(add(y, v[1], u64(s, o + 48)), 42n), K1);
      x ^= w[1];
      y ^= v[0];
      z = rot(z ^ w[0], 33n);
      v = weak32(s, o, mul(v[1], K1), add(x, w[0]));
      w = weak32(s, o + 32, add(z, w[1]), y);
      [z, x] = [x, z];
    }
    at += 128;
    left -= 128;
  }
  y = add(y, mul(rot(w[0], 37n), K0), z);
  x = add(x, mul(rot(add(v[0], z), 49n), K0));
  for (let i = 0; i < left; ) {
    i += 32;
    y = add(mul(rot((y - x) & M64, 42n), K0), v[1]);
    w[0] = add(w[0], u64(t, t.length - i + 16));
    x = add(mul(rot(x, 49n), K0), w[0]);
    w[0] = add(w[0], v[0]);
    v = weak32(t, t.length - i, v[0], v[1]);
  }
  x = hash16(x, v[0]);
  y = hash16(y, w[0]);
  return [add(hash16(add(x, v[1]), w[1]), y), hash16(add(x, w[1]), add(y, v[1]))];
}

/** ClickHouse's CityHash128 of `s`, as the 16 bytes of a compressed block's checksum (low half first). */
export function cityHash128(s: Buffer): Buffer {
  let low: bigint;
  let high: bigint;
  if (s.length >= 16) [low, high] = city128Seed(s.subarray(16), u64(s, 0) ^ K3, u64(s, 8));
  else if (s.length >= 8) [low, high] = city128Seed(Buffer.alloc(0), u64(s, 0) ^ mul(BigInt(s.length), K0), u64(s, s.length - 8) ^ K1);
  else [low, high] = city128Seed(s, K0, K1);
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(low, 0);
  out.writeBigUInt64LE(high, 8);
  return out;
}

// ---------------------------------------------------------------- compressed blocks

const METHOD = { none: 0x02, lz4: 0x82, zstd: 0x90 } as const;
export type BlockMethod = keyof typeof METHOD;
const HEADER = 9; // method byte, compressed size (with this header), uncompressed size

/** LZ4 block decompression (the raw block format, no frame). */
function lz4Decompress(input: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  let i = 0;
  let o = 0;
  while (i < input.length) {
    const token = input[i++]!;
    let literals = token >> 4;
    if (literals === 15) for (let byte = 255; byte === 255; ) literals += byte = input[i++]!;
    input.copy(out, o, i, i + literals);
    i += literals;
    o += literals;
    if (i >= input.length) break;
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > o) throw new Error('LZ4 block: bad match offset');
    let match = (token & 15) + 4;
    if ((token & 15) === 15) for (let byte = 255; byte === 255; ) match += byte = input[i++]!;
    for (let k = 0; k < match; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== size) throw new Error(`LZ4 block: ${o} bytes, the header said ${size}`);
  return out;
}

/** A valid LZ4 block holding `data` as literals only: what the client reads, without a compressor here. */
function lz4Literals(data: Buffer): Buffer {
  const parts: number[] = [];
  const n = data.length;
  parts.push((Math.min(n, 15) << 4) & 0xff);
  if (n >= 15) {
    let rest = n - 15;
    while (rest >= 255) {
      parts.push(255);
      rest -= 255;
    }
    parts.push(rest);
  }
  return Buffer.concat([Buffer.from(parts), data]);
}

export class CompressedBlockError extends Error {}

/** Decompresses one ZSTD frame to `size` bytes (the engine does it: Node 20 has no zstd). */
export type ZstdDecoder = (frame: Buffer, size: number) => Promise<Buffer>;

/** Reads ClickHouse compressed blocks back to the bytes they hold, checking every checksum. */
export async function decompressBlocks(body: Buffer, zstd?: ZstdDecoder): Promise<{ data: Buffer; methods: Set<BlockMethod> }> {
  const out: Buffer[] = [];
  const methods = new Set<BlockMethod>();
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 16 + HEADER) throw new CompressedBlockError('truncated compressed block header');
    const method = body[at + 16]!;
    const compressedSize = body.readUInt32LE(at + 17);
    const size = body.readUInt32LE(at + 21);
    const raw = body.subarray(at + 16, at + 16 + compressedSize);
    if (raw.length !== compressedSize) throw new CompressedBlockError('truncated compressed block');
    if (!cityHash128(raw).equals(body.subarray(at, at + 16))) throw new CompressedBlockError('checksum doesn\'t match: corrupted data');
    const data = raw.subarray(HEADER);
    const name = (Object.keys(METHOD) as BlockMethod[]).find((key) => METHOD[key] === method);
    if (name) methods.add(name);
    if (method === METHOD.lz4) out.push(lz4Decompress(data, size));
    else if (method === METHOD.none) out.push(Buffer.from(data));
    else if (method === METHOD.zstd && zstd) out.push(await zstd(Buffer.from(data), size));
    else if (method === METHOD.zstd) throw new CompressedBlockError('ZSTD-compressed blocks need a decoder here');
    else throw new CompressedBlockError(`unknown compression method 0x${method.toString(16)}`);
    at += 16 + compressedSize;
  }
  return { data: Buffer.concat(out), methods };
}

/** `data` as one LZ4 compressed block (or several: a block holds at most 1 MiB here, as ClickHouse's do). */
export function compressBlocks(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  for (let at = 0; at < data.length || blocks.length === 0; at += 1 << 20) {
    const chunk = data.subarray(at, at + (1 << 20));
    const payload = lz4Literals(chunk);
    const raw = Buffer.alloc(HEADER + payload.length);
    raw[0] = METHOD.lz4;
    raw.writeUInt32LE(raw.length, 1);
    raw.writeUInt32LE(chunk.length, 5);
    payload.copy(raw, HEADER);
    blocks.push(cityHash128(raw), raw);
  }
  return Buffer.concat(blocks);
}

// ---------------------------------------------------------------- Native answer blocks

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
const str = (value: string) => {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([uvarint(bytes.length), bytes]);
};

const FIXED: Record<string, (value: unknown) => Buffer> = {
  UInt8: (v) => Buffer.from([Number(v)]),
  Bool: (v) => Buffer.from([v === true || v === 1 ? 1 : 0]),
  UInt16: (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(Number(v)); return b; },
  UInt32: (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v)); return b; },
  UInt64: (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v as number)); return b; },
  Int8: (v) => { const b = Buffer.alloc(1); b.writeInt8(Number(v)); return b; },
  Int16: (v) => { const b = Buffer.alloc(2); b.writeInt16LE(Number(v)); return b; },
  Int32: (v) => { const b = Buffer.alloc(4); b.writeInt32LE(Number(v)); return b; },
  Int64: (v) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v as number)); return b; },
  Float64: (v) => { const b = Buffer.alloc(8); b.writeDoubleLE(Number(v)); return b; },
  String: (v) => str(String(v ?? '')),
};

/**
 * One Native block as the server writes it for a client at `revision`: block info when the
 * revision is set, a "no custom serialization" byte per column from 54454 on.
 */
export function nativeBlock(columns: { name: string; type: string }[], rows: Record<string, unknown>[], revision: number): Buffer {
  const parts: Buffer[] = [];
  if (revision > 0) parts.push(uvarint(1), Buffer.from([0]), uvarint(2), Buffer.from([0xff, 0xff, 0xff, 0xff]), uvarint(0));
  parts.push(uvarint(columns.length), uvarint(rows.length));
  for (const column of columns) {
    const encode = FIXED[column.type.replace(/^LowCardinality\((String)\)$/, '$1')];
    if (!encode) throw new FrontError(48, 'NOT_IMPLEMENTED', `the test front answers String and fixed-width number columns only, not ${column.type} (${column.name})`);
    parts.push(str(column.name), str(column.type.replace(/^LowCardinality\((String)\)$/, '$1')));
    if (revision >= 54454) parts.push(Buffer.from([0]));
    for (const row of rows) parts.push(encode(row[column.name]));
  }
  return Buffer.concat(parts);
}

class FrontError extends Error {
  readonly code: number;
  readonly type: string;
  constructor(code: number, type: string, message: string) {
    super(message);
    this.code = code;
    this.type = type;
  }
}

// ---------------------------------------------------------------- the server

const INSERT_NATIVE = /^\s*(INSERT\s+INTO\s+[\s\S]*?)\s+FORMAT\s+Native\s*;?\s*$/i;
const DESCRIBE = /^\s*(DESC|DESCRIBE)\s/i;
const DESCRIBE_COLUMNS = ['name', 'type', 'default_type', 'default_expression', 'comment', 'codec_expression', 'ttl_expression'].map((name) => ({ name, type: 'String' }));

export async function startClickHouseFront(target: SqlTarget, options: { database: string }): Promise<ClickHouseFront> {
  const users = new Map<string, string>();
  const log: ClickHouseFront['log'] = [];
  const spool = mkdtempSync(join(tmpdir(), 'tstack-clickhouse-front-'));
  let sequence = 0;
  // chdb runs one statement at a time per session anyway; serialising here keeps the spool files and the log in order.
  let queue: Promise<unknown> = Promise.resolve();
  // A ZSTD block's payload is one standard zstd frame: the engine reads it as a zstd-compressed file.
  const zstd: ZstdDecoder = async (frame, size) => {
    const file = join(spool, `block-${++sequence}.zst`);
    writeFileSync(file, frame);
    try {
      const [row] = await target.query<{ data: string }>(`SELECT hex(raw) AS data FROM file('${file}', 'RawBLOB', 'raw String', 'zstd')`);
      const data = Buffer.from(row?.data ?? '', 'hex');
      if (data.length !== size) throw new CompressedBlockError(`ZSTD block: ${data.length} bytes, the header said ${size}`);
      return data;
    } finally {
      rmSync(file, { force: true });
    }
  };
  const front: ClickHouseFront = {
    port: 0,
    endpoint: '',
    users,
    log,
    failWith: undefined,
    loseInsertAnswer: undefined,
    stopListening: async () => {},
    listenAgain: async () => {},
    close: async () => {},
  };

  let refusing = false;
  const server: Server = createServer((request, response) => {
    if (refusing) return void request.socket.destroy();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://clickhouse');
      const compress = url.searchParams.get('compress') === '1';
      const frame = (body: Buffer) => (compress ? compressBlocks(body) : body);
      const fail = (status: number, code: number, type: string, message: string) =>
        response
          .writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': String(code) })
          .end(frame(Buffer.from(clickhouseError(code, type, message))));
      if (url.pathname === '/ping' && request.method === 'GET') return void response.writeHead(200).end('Ok.\n');
      const credentials = authenticate(request);
      if (!credentials || users.get(credentials.user) !== credentials.password) {
        return void fail(401, 516, 'AUTHENTICATION_FAILED', `${credentials?.user ?? 'default'}: Authentication failed: password is incorrect, or there is no user with such name`);
      }
      if (front.failWith) return void fail(500, front.failWith.code, front.failWith.type, front.failWith.message);
      const requested = url.searchParams.get('database');
      if (requested && requested !== options.database) return void fail(404, 81, 'UNKNOWN_DATABASE', `Database ${requested} does not exist`);
      const revision = Number(url.searchParams.get('client_protocol_version') ?? '0');
      const body = Buffer.concat(chunks);
      const user = credentials.user;
      queue = queue.then(async () => {
        try {
          const urlQuery = url.searchParams.get('query');
          if (urlQuery !== null) {
            // An insert: the statement in the URL, the data in the body.
            const decompressed = url.searchParams.get('decompress') === '1' ? await decompressBlocks(body, zstd) : undefined;
            const data = decompressed?.data ?? body;
            if (decompressed && decompressed.methods.size !== 1) throw new FrontError(40, 'CHECKSUM_DOESNT_MATCH', 'the test front takes one compression method per request');
            const compression = decompressed ? [...decompressed.methods][0]! : undefined;
            const insert = INSERT_NATIVE.exec(urlQuery);
            if (!insert) throw new FrontError(62, 'SYNTAX_ERROR', `the test front takes INSERT ... FORMAT Native with the data in the body, not: ${urlQuery.slice(0, 200)}`);
            const file = join(spool, `insert-${++sequence}.native`);
            writeFileSync(file, data);
            let rows: number;
            try {
              const [count] = await target.query<{ n: number }>(`SELECT count() AS n FROM file('${file}', 'Native')`);
              rows = Number(count?.n);
              await target.exec(`${insert[1]} SELECT * FROM file('${file}', 'Native')`);
            } finally {
              rmSync(file, { force: true });
            }
            log.push({ user, sql: urlQuery, ...(compression ? { compression } : {}), rows });
            if (front.loseInsertAnswer?.(urlQuery)) return void request.socket.destroy();
            return void response.writeHead(200, { 'X-ClickHouse-Format': 'Native' }).end();
          }
          const sql = body.toString('utf8').trim().replace(/;\s*$/, '');
          log.push({ user, sql });
          const columns = DESCRIBE.test(sql)
            ? DESCRIBE_COLUMNS
            : await target.query<{ name: string; type: string }>(`DESCRIBE (${sql})`);
          const rows = await target.query<Record<string, unknown>>(sql);
          const answer = nativeBlock(columns.map(({ name, type }) => ({ name, type })), rows, revision);
          response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-ClickHouse-Format': 'Native' }).end(frame(answer));
        } catch (error) {
          if (error instanceof FrontError) return void fail(500, error.code, error.type, error.message);
          if (error instanceof CompressedBlockError) return void fail(500, 40, 'CHECKSUM_DOESNT_MATCH', error.message);
          const message = error instanceof Error ? error.message : String(error);
          const code = /Code: (\d+)\./.exec(message)?.[1];
          // The engine's own messages already read "Code: N. DB::Exception: ... (TYPE)".
          response
            .writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': code ?? '1001' })
            .end(frame(Buffer.from(code ? `${message.trim()}\n` : clickhouseError(1001, 'STD_EXCEPTION', message))));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(front, {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    stopListening: async () => {
      refusing = true;
      // Idle keep-alive connections close now; the port is refused at once (close() waits for the busy ones only to call back).
      if (server.listening) server.close();
      server.closeIdleConnections();
    },
    listenAgain: () =>
      new Promise<void>((resolve, reject) => {
        refusing = false;
        if (server.listening) return resolve();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        const done = () => {
          rmSync(spool, { recursive: true, force: true });
          resolve();
        };
        if (server.listening) server.close(done);
        else done();
      }),
  });
}
