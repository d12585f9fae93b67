-- name: tool-failures
-- description: Tool calls and failures per tool (tool_name, or name on clients before it was renamed; each MCP tool as mcp__server__tool, which needs its server name: OTEL_LOG_TOOL_DETAILS=1, kept by the collector at every level that stores tool_result).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  tool,
  count() AS calls,
  countIf(NOT success) AS failures,
  round(failures / calls, 4) AS failure_rate
FROM claude_code_tool_results
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY tool
ORDER BY failures DESC, tool
