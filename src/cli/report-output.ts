/**
 * How commands print data on stdout: rows as an aligned text table, JSON (an array of objects
 * keyed by column), YAML or CSV; any other value as JSON or YAML.
 */
import { stringify } from 'yaml';

export const REPORT_FORMATS = ['table', 'json', 'yaml', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A value as `-o json` or `-o yaml` prints it. */
export function formatValue(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}

type Row = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function csvCell(value: unknown): string {
  const text = cell(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function formatRows(rows: readonly Row[], columns: readonly string[], format: ReportFormat): string {
  if (format === 'json' || format === 'yaml') return formatValue(rows, format);
  if (format === 'csv') {
    return [columns.map(csvCell).join(','), ...rows.map((row) => columns.map((column) => csvCell(row[column])).join(','))].join('\n') + '\n';
  }
  if (rows.length === 0) return '(no rows)\n';
  const texts = rows.map((row) => columns.map((column) => cell(row[column])));
  const numeric = columns.map((column) => rows.every((row) => typeof row[column] === 'number' || row[column] === null));
  const widths = columns.map((column, index) => Math.max(column.length, ...texts.map((text) => text[index]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (numeric[index] ? value.padStart(widths[index]!) : value.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((width) => '-'.repeat(width)).join('  '), ...texts.map(line)].join('\n') + '\n';
}
