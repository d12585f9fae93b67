-- name: tool-usage
-- description: Tool usage, failure rate and duration percentiles (ms) per tool (each MCP tool as mcp__server__tool).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  tool,
  count() AS calls,
  countIf(NOT success) AS failures,
  round(failures / calls, 4) AS failure_rate,
  round(quantileExact(0.5)(duration_ms), 1) AS p50_ms,
  round(quantileExact(0.95)(duration_ms), 1) AS p95_ms
FROM claude_code_tool_results
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY tool
ORDER BY calls DESC, tool
