/**
 * queries/unknown-fields.sql, generated from the field tables (src/sanitizer/fields.ts): the
 * event names, metric names and attribute keys stored in the last N days that the tables do not
 * know. The known names are written into the query by `npm run generate` (and `--check` fails
 * when they are stale), so the report, `doctor` (which runs this same query) and the tables
 * cannot disagree: a new Claude Code version's fields show up the day they arrive.
 */
import { KNOWN_ATTRIBUTE_KEYS, KNOWN_EVENT_NAMES, REMOVED_KEYS_ATTRIBUTE, TELEMETRY_METRICS } from '../sanitizer/fields.ts';
import { FREE_TEXT_ATTRIBUTES } from '../sanitizer/levels.ts';
import { quoteString } from './sql.ts';
import { DERIVED, RAW_TABLES } from './tables.ts';

export const UNKNOWN_FIELDS_QUERY = 'unknown-fields';
export const UNKNOWN_FIELDS_PATH = `queries/${UNKNOWN_FIELDS_QUERY}.sql`;

/** What the query returns, one row per unknown name. */
export interface UnknownField {
  /**
   * event, metric, event attribute, metric attribute or resource attribute; or removed event
   * attribute / removed metric attribute: a key the level's allow-list removed (only its name
   * was stored) that is not free text removed by design.
   */
  readonly kind: string;
  readonly name: string;
  /** The events or metrics an attribute was seen on (up to five), comma-separated. */
  readonly seen_on: string;
  readonly records: number;
  readonly first_day: string;
  readonly last_day: string;
}

// Windows are computed in Date32: a Date minus more days than since 1970 wraps around to the future.
const METRIC_TABLES = [RAW_TABLES.metricsSum, RAW_TABLES.metricsGauge, RAW_TABLES.metricsHistogram, RAW_TABLES.metricsExponentialHistogram, RAW_TABLES.metricsSummary];

const literalArray = (values: readonly string[]) => `[${[...values].sort().map(quoteString).join(', ')}]`;

/**
 * One (kind, name, seen_on) tuple per name a record carries: its event or metric name, its
 * attribute keys, the keys the level removed (REMOVED_KEYS_ATTRIBUTE) and its resource attribute
 * keys; only the unknown ones are kept, and of the removed ones those that are not free text
 * (which the allow-lists remove by design): a known key on an event whose list lacks it is drift too.
 */
function unknownItems(nameKind: 'event' | 'metric', name: string, attributes: string, resource: string): string {
  return `arrayFilter(item -> NOT has(multiIf(item.1 = 'event', known_events, item.1 = 'metric', known_metrics, startsWith(item.1, 'removed '), removed_by_design, known_keys), item.2), arrayConcat(
      [('${nameKind}', ${name}, '')],
      arrayMap(key -> ('${nameKind} attribute', key, ${name}), mapKeys(${attributes})),
      arrayMap(key -> ('removed ${nameKind} attribute', key, ${name}), arrayFilter(key -> key != '', splitByChar(',', ${attributes}['${REMOVED_KEYS_ATTRIBUTE}']))),
      arrayMap(key -> ('resource attribute', key, ''), mapKeys(${resource}))))`;
}

export function unknownFieldsQuery(notice: string): string {
  const metrics = METRIC_TABLES.map(
    (table) => `    SELECT MetricName AS name, Attributes AS attributes, ResourceAttributes AS resource_attributes, toDate(TimeUnix) AS day FROM ${table} WHERE toDate(TimeUnix) > toDate32(today()) - {days:UInt32}`,
  ).join('\n    UNION ALL\n');
  return `-- name: ${UNKNOWN_FIELDS_QUERY}
-- description: Event names, metric names and attribute keys stored in the last N days that the field tables (src/sanitizer/fields.ts) do not know: what a new Claude Code version (or OTEL_RESOURCE_ATTRIBUTES) added. Keys the level removed (only their names were stored) show as removed event/metric attributes, free text removed by design excepted.
-- param: days UInt32 = 7 -- how many days back, today included
-- ${notice}
WITH
  ${literalArray(KNOWN_EVENT_NAMES)} AS known_events,
  ${literalArray(TELEMETRY_METRICS)} AS known_metrics,
  ${literalArray(KNOWN_ATTRIBUTE_KEYS)} AS known_keys,
  ${literalArray(FREE_TEXT_ATTRIBUTES)} AS removed_by_design
SELECT
  item.1 AS kind,
  item.2 AS name,
  arrayStringConcat(arraySort(groupUniqArrayIf(5)(item.3, item.3 != '')), ', ') AS seen_on,
  count() AS records,
  toString(min(day)) AS first_day,
  toString(max(day)) AS last_day
FROM (
  SELECT ${unknownItems('event', 'event', 'attributes', 'resource_attributes')} AS items, day
  FROM ${DERIVED.events}
  WHERE day > toDate32(today()) - {days:UInt32}
  UNION ALL
  SELECT ${unknownItems('metric', 'name', 'attributes', 'resource_attributes')} AS items, day
  FROM (
${metrics}
  )
)
ARRAY JOIN items AS item
GROUP BY kind, name
ORDER BY kind, name
`;
}
