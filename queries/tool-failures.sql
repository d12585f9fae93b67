-- name: tool-failures
-- description: Tool calls and failures per tool (tool_name, or name on clients before it was renamed).
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
