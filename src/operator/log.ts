/**
 * Structured JSON logs, one object per line. Secrets never reach a log line: callers pass
 * names, never values, and as a second line of defence any field whose name looks like a
 * credential is replaced before writing.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|authorization|credential|hash-?key|htpasswd|^data$|^stringData$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = SECRET_FIELD.test(key) ? '[redacted]' : redact(inner, depth + 1);
  return out;
}

export function jsonLogger(write: (line: string) => void, options: { level?: Level; fields?: Fields; now?: () => Date } = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const base = options.fields ?? {};
  const now = options.now ?? (() => new Date());
  const emit = (level: Level, message: string, fields?: Fields) => {
    if (ORDER[level] < threshold) return;
    const record = redact({ ...base, ...fields }) as Fields;
    write(`${JSON.stringify({ time: now().toISOString(), level, msg: message, ...record })}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => jsonLogger(write, { ...options, fields: { ...base, ...fields } }),
  };
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
