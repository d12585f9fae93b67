-- name: extension-attribution
-- description: MCP server, skill and subagent attribution of tool calls: calls and failures per extension.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  multiIf(mcp_server_name != '' OR startsWith(tool, 'mcp__'), 'mcp', skill_name != '', 'skill', subagent_type != '', 'subagent', 'builtin') AS kind,
  multiIf(mcp_server_name != '', mcp_server_name, startsWith(tool, 'mcp__'), splitByString('__', tool)[2], skill_name != '', skill_name, subagent_type != '', subagent_type, '') AS name,
  count() AS calls,
  countIf(NOT success) AS failures
FROM claude_code_tool_results
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY kind, name
HAVING kind != 'builtin'
ORDER BY calls DESC, kind, name
