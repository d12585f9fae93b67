/**
 * `report --html FILE`: the core reports in one self-contained page (inline CSS and SVG, no
 * script, no external asset), for people without Grafana. Each section is a library query's
 * rows as a bar chart and a table; the numbers are the same `report NAME` prints. Pure.
 */
import { HEADLINE_FIGURES } from '../charts/grafana/dashboards.ts';
import type { LibraryQuery } from '../clickhouse/queries.ts';

type Row = Record<string, unknown>;

export interface HtmlChart {
  /** Column whose values label the bars (one group per row). */
  readonly label: string;
  /** Numeric columns drawn as bars, one colour each. */
  readonly values: readonly string[];
  /** Rows are summed per label first (e.g. cost per day over users). */
  readonly sumBy?: boolean;
}

/** The reports the page shows, in order, and how each is charted. */
export const HTML_REPORTS: readonly { readonly name: string; readonly title: string; readonly chart: HtmlChart }[] = [
  { name: 'cost-by-user', title: 'Spend per user', chart: { label: 'user', values: ['cost_usd'] } },
  { name: 'cost-by-user-day', title: 'Spend per day', chart: { label: 'day', values: ['cost_usd'], sumBy: true } },
  { name: 'cost-by-model-source', title: 'Spend by model and query source', chart: { label: 'model', values: ['cost_usd'], sumBy: true } },
  { name: 'tokens-by-model', title: 'Tokens by model', chart: { label: 'model', values: ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens'] } },
  { name: 'active-users', title: 'Daily active users', chart: { label: 'day', values: ['active_users', 'sessions'] } },
  { name: 'tool-failures', title: 'Tool calls and failures', chart: { label: 'tool', values: ['calls', 'failures'] } },
  { name: 'api-errors', title: 'API errors by status code', chart: { label: 'status_code', values: ['errors'] } },
];

export interface HtmlSection {
  readonly query: LibraryQuery;
  readonly title: string;
  readonly chart: HtmlChart;
  readonly rows: readonly Row[];
}

const COLOURS = ['#3b6fb6', '#e07b39', '#4c9a5b', '#8d5fb3', '#c4474f', '#6f7c85'];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 4 : 2);
}

/** The chart's data: one entry per label (summed when asked), values as numbers. */
export function chartData(rows: readonly Row[], chart: HtmlChart): { label: string; values: number[] }[] {
  const out: { label: string; values: number[] }[] = [];
  const index = new Map<string, number>();
  for (const row of rows) {
    const label = cell(row[chart.label]);
    const values = chart.values.map((column) => Number(row[column] ?? 0) || 0);
    const existing = chart.sumBy ? index.get(label) : undefined;
    if (existing === undefined) {
      index.set(label, out.length);
      out.push({ label, values });
    } else {
      out[existing]!.values = out[existing]!.values.map((v, i) => v + values[i]!);
    }
  }
  return out;
}

/** A horizontal grouped bar chart as inline SVG: labels on the left, one bar per value column. */
export function barChartSvg(rows: readonly Row[], chart: HtmlChart): string {
  const data = chartData(rows, chart).slice(0, 40);
  if (data.length === 0) return '<p class="empty">No data in this period.</p>';
  const barHeight = 14;
  const groupGap = 8;
  const labelWidth = 230;
  const plotWidth = 520;
  const valueWidth = 90;
  const groupHeight = chart.values.length * barHeight + groupGap;
  const legendHeight = chart.values.length > 1 ? 24 : 0;
  const height = legendHeight + data.length * groupHeight + 4;
  const width = labelWidth + plotWidth + valueWidth;
  const max = Math.max(...data.flatMap((d) => d.values), 0) || 1;
  const parts: string[] = [];
  if (legendHeight > 0) {
    chart.values.forEach((column, i) => {
      const x = labelWidth + i * 150;
      parts.push(`<rect x="${x}" y="4" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`);
      parts.push(`<text x="${x + 16}" y="14" class="legend">${escapeHtml(column)}</text>`);
    });
  }
  data.forEach((entry, row) => {
    const top = legendHeight + row * groupHeight;
    const label = entry.label.length > 30 ? `${entry.label.slice(0, 29)}…` : entry.label;
    parts.push(`<text x="${labelWidth - 8}" y="${top + (chart.values.length * barHeight) / 2 + 4}" text-anchor="end" class="label">${escapeHtml(label || '(none)')}</text>`);
    entry.values.forEach((value, i) => {
      const y = top + i * barHeight;
      const w = Math.max(value > 0 ? 1 : 0, (value / max) * plotWidth);
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${COLOURS[i % COLOURS.length]}"><title>${escapeHtml(`${entry.label} ${chart.values[i]}: ${value}`)}</title></rect>`);
      parts.push(`<text x="${labelWidth + w + 4}" y="${y + barHeight - 4}" class="value">${escapeHtml(formatNumber(value))}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** The library query whose one row the page leads with (the dashboards' overview reads the same). */
export const HEADLINE_QUERY = 'headline';

/** A headline figure with its unit: dollars and cents, a percentage, or a whole count. */
export function formatFigure(value: unknown, unit: (typeof HEADLINE_FIGURES)[number]['unit']): string {
  const number = Number(value ?? 0) || 0;
  switch (unit) {
    case 'currencyUSD':
      return `$${number.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    case 'percentunit':
      return `${(number * 100).toFixed(1)} %`;
    default:
      return Math.round(number).toLocaleString('en-US');
  }
}

/** The headline figures as tiles, each with its unit and the column it comes from. */
export function headlineHtml(row: Row | undefined): string {
  if (!row) return '';
  const tiles = HEADLINE_FIGURES.map(
    ({ field, title, unit }) => `<div class="tile" data-field="${escapeHtml(field)}"><div class="figure">${escapeHtml(formatFigure(row[field], unit))}</div><div class="title">${escapeHtml(title)}</div></div>`,
  );
  return `<div id="${HEADLINE_QUERY}" class="headline">${tiles.join('')}<p class="desc"><code>telemetry-stack report ${HEADLINE_QUERY}</code></p></div>`;
}

function table(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]!);
  const numeric = columns.map((column) => rows.every((row) => typeof row[column] === 'number' || row[column] === null));
  const head = columns.map((c, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${columns.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(cell(row[c]))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<details><summary>${rows.length} row${rows.length === 1 ? '' : 's'}</summary><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></details>`;
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2329;margin:2rem auto;max-width:960px;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin:2rem 0 .2rem;border-bottom:1px solid #dde1e4;padding-bottom:.2rem}
.meta,.desc{color:#5b6670}.desc{margin:.2rem 0 .6rem}svg text{font:12px system-ui,sans-serif;fill:#1d2329}svg .value{fill:#5b6670}
table{border-collapse:collapse;margin-top:.5rem;font-size:13px}th,td{padding:.2rem .6rem;border-bottom:1px solid #eceff1;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}summary{cursor:pointer;color:#3b6fb6}.empty{color:#5b6670;font-style:italic}
code{background:#f3f5f6;padding:0 .25rem;border-radius:3px}
.headline{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}.tile{flex:1 1 130px;border:1px solid #dde1e4;border-radius:6px;padding:.6rem .8rem}
.figure{font-size:1.5rem;font-weight:600;font-variant-numeric:tabular-nums}.title{color:#5b6670}.headline .desc{flex-basis:100%;margin:0}`;

export function renderHtmlReport(sections: readonly HtmlSection[], meta: { readonly source: string; readonly generatedAt: Date; readonly period: string; readonly headline?: Row }): string {
  const body = sections
    .map(
      (section) => `<section id="${escapeHtml(section.query.name)}">
<h2>${escapeHtml(section.title)}</h2>
<p class="desc">${escapeHtml(section.query.description)} <code>telemetry-stack report ${escapeHtml(section.query.name)}</code></p>
${barChartSvg(section.rows, section.chart)}
${table(section.rows)}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Claude Code usage report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Claude Code usage report</h1>
<p class="meta">${escapeHtml(meta.period)} · data: ${escapeHtml(meta.source)} · generated ${escapeHtml(meta.generatedAt.toISOString().replace('T', ' ').slice(0, 16))} UTC</p>
${headlineHtml(meta.headline)}
${body}
</body>
</html>
`;
}
