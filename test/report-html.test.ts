/**
 * `report --html`: the page renders in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; no browser download) with no request beyond the file itself, one chart per
 * core report, and the same numbers as `report NAME --format json`. A screenshot is kept for a
 * person to look at (path printed).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADLINE_FIGURES } from '../src/charts/grafana/dashboards.ts';
import { barChartSvg, chartData, escapeHtml, formatFigure, headlineHtml, HTML_REPORTS } from '../src/cli/report-html.ts';
import { run } from '../src/cli/main.ts';
import { ROOT } from '../harness/stacks.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SAMPLE = join(ROOT, 'examples/sample-export');
const dir = mkdtempSync(join(tmpdir(), 'tstack-html-'));
const page = join(dir, 'report.html');
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  const result = await run(['report', '--html', page, '--data', SAMPLE]);
  if (result.code !== 0) throw new Error(result.stderr);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe('report --html', () => {
  it('renders in Chromium with no request beyond the page, one chart per core report, and no script errors', async () => {
    const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    tab.on('request', (request) => requests.push(request.url()));
    tab.on('pageerror', (error) => errors.push(error.message));
    tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await tab.goto(`file://${page}`);
    expect(requests).toEqual([`file://${page}`]);
    expect(errors).toEqual([]);
    expect(await tab.locator('section').count()).toBe(HTML_REPORTS.length);
    expect(await tab.locator('section svg').count()).toBe(HTML_REPORTS.length);
    // Bars are drawn with a visible size.
    const widths = await tab.locator('#cost-by-user svg rect[height="12"]').evaluateAll((rects) => rects.map((r) => r.getBoundingClientRect().width));
    expect(widths.length).toBeGreaterThan(1);
    expect(Math.max(...widths)).toBeGreaterThan(400);
    const screenshot = join(dir, 'report.png');
    await tab.screenshot({ path: screenshot, fullPage: true });
    console.log(`[report-html] screenshot: ${screenshot}`);
    await tab.close();
  });

  it('shows the same numbers as report NAME --format json', async () => {
    const json = JSON.parse((await run(['report', 'cost-by-user', '--data', SAMPLE, '--format', 'json'])).stdout) as { user: string; cost_usd: number }[];
    expect(json.length).toBeGreaterThan(1);
    const tab = await browser.newPage();
    await tab.goto(`file://${page}`);
    const cells = await tab.locator('#cost-by-user table tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(cells.map((row) => [row[0], Number(row[1])])).toEqual(json.map((row) => [row.user, row.cost_usd]));
    await tab.close();
  });

  it('leads with the headline figures in their units, the numbers of report headline', async () => {
    const [head] = JSON.parse((await run(['report', 'headline', '--data', SAMPLE, '-o', 'json'])).stdout) as Record<string, number>[];
    expect(Number(head!.cost_usd)).toBeGreaterThan(0);
    const tab = await browser.newPage();
    await tab.goto(`file://${page}`);
    const tiles = await tab.locator('#headline .tile').evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('data-field'), node.querySelector('.figure')?.textContent ?? '', node.querySelector('.title')?.textContent ?? '']));
    expect(tiles.map(([field]) => field)).toEqual(HEADLINE_FIGURES.map((figure) => figure.field));
    const shown = Object.fromEntries(tiles.map(([field, figure]) => [field, figure]));
    expect(shown.cost_usd).toBe(`$${Number(head!.cost_usd).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    expect(shown.error_rate).toBe(`${(Number(head!.error_rate) * 100).toFixed(1)} %`);
    expect(shown.cache_hit_ratio).toBe(`${(Number(head!.cache_hit_ratio) * 100).toFixed(1)} %`);
    expect(shown.active_users).toBe(String(head!.active_users));
    await tab.close();
  });

  it('formats each unit', () => {
    expect(formatFigure(1234.5, 'currencyUSD')).toBe('$1,234.50');
    expect(formatFigure(0.0625, 'percentunit')).toBe('6.3 %');
    expect(formatFigure(12345, 'short')).toBe('12,345');
    expect(headlineHtml(undefined)).toBe('');
  });

  it('escapes what it prints and sums per label when asked', () => {
    expect(escapeHtml('<script>"x"&\'')).toBe('&lt;script&gt;&quot;x&quot;&amp;&#39;');
    const rows = [{ day: '2026-10-01', user: 'a', cost_usd: 1 }, { day: '2026-10-01', user: 'b', cost_usd: 2 }, { day: '2026-10-02', user: 'a', cost_usd: 4 }];
    expect(chartData(rows, { label: 'day', values: ['cost_usd'], sumBy: true })).toEqual([{ label: '2026-10-01', values: [3] }, { label: '2026-10-02', values: [4] }]);
    expect(barChartSvg([{ user: '<b>', cost_usd: 1 }], { label: 'user', values: ['cost_usd'] })).toContain('&lt;b&gt;');
    expect(barChartSvg([], { label: 'user', values: ['cost_usd'] })).toContain('No data');
  });

  it('a report name with --html is a usage mistake', async () => {
    const result = await run(['report', 'cost-by-user', '--html', join(dir, 'x.html'), '--data', SAMPLE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('give no report name with it');
    expect(readFileSync(page, 'utf8')).toContain('<!doctype html>');
  });
});
