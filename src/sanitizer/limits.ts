/**
 * The longest string the sanitizer looks at. The collector cuts every attribute value and log
 * body to this many bytes before the level filter and the sanitizer (transform/truncate in the
 * collector configuration, OTTL `truncate_all` with utf8_safe and a marker), and the preview
 * (`telemetry-stack sanitize`) cuts the same way, so both store the same thing.
 *
 * Why 16 KiB: the sanitizer costs about 2.5 s of CPU per MiB of text (one 4 MB value took 9.6 s),
 * 16 KiB about 40 ms. 16 KiB keeps what Claude Code sends whole in practice (prompts, commands,
 * tool parameters, error text); what it cuts is pasted files and raw API bodies. A token the cut
 * splits is still redacted when its head is as long as its pattern needs; a shorter head stays
 * (a private key block cut before its END line is redacted by its own rule).
 */
export const MAX_ATTRIBUTE_BYTES = 16 * 1024;
export const TRUNCATION_MARKER = '...[TRUNCATED]';

/** OTTL truncate_all(limit, utf8_safe=true, marker) on one string: at most `limit` bytes, the marker included. */
export function truncateValue(value: string, limit = MAX_ATTRIBUTE_BYTES, marker = TRUNCATION_MARKER): string {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= limit) return value;
  let at = limit - Buffer.byteLength(marker, 'utf8');
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx), as utf8_safe does.
  while (at > 0 && (bytes[at]! & 0xc0) === 0x80) at -= 1;
  return bytes.subarray(0, at).toString('utf8') + marker;
}
