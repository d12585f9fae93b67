-- name: blocked-tool-decisions
-- description: Tool uses that were rejected, by tool and by where the decision came from.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  tool,
  decision_source,
  count() AS rejections
FROM claude_code_tool_decisions
WHERE day BETWEEN {from:Date} AND {to:Date} AND decision = 'reject'
GROUP BY tool, decision_source
ORDER BY rejections DESC, tool, decision_source
