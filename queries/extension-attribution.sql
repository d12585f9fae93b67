-- name: extension-attribution
-- description: MCP server, skill and subagent attribution of tool calls: calls and failures per extension. Tool details name them (OTEL_LOG_TOOL_DETAILS=1); without, 2.1.x's skill_activated and subagent_completed events count the skills and subagents (no failures known there), and an MCP call without its server name counts under name ''.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  kind,
  name,
  count() AS calls,
  countIf(failed) AS failures
FROM (
  SELECT
    multiIf(mcp_server_name != '' OR startsWith(tool, 'mcp__') OR tool_name_sent = 'mcp_tool', 'mcp', skill_name != '', 'skill', subagent_type != '', 'subagent', 'builtin') AS kind,
    multiIf(mcp_server_name != '', mcp_server_name, startsWith(tool, 'mcp__'), splitByString('__', tool)[2], skill_name != '', skill_name, subagent_type != '', subagent_type, '') AS name,
    NOT success AS failed
  FROM claude_code_tool_results
  WHERE day BETWEEN {from:Date} AND {to:Date}
  UNION ALL
  -- The same prompt's tool call, when it names the skill or subagent, already counted it.
  SELECT 'skill' AS kind, skill_name AS name, false AS failed
  FROM claude_code_skills
  WHERE day BETWEEN {from:Date} AND {to:Date}
    AND (prompt_id, skill_name) NOT IN (SELECT prompt_id, skill_name FROM claude_code_tool_results WHERE skill_name != '')
  UNION ALL
  SELECT 'subagent' AS kind, agent_type AS name, false AS failed
  FROM claude_code_subagents
  WHERE day BETWEEN {from:Date} AND {to:Date}
    AND (prompt_id, agent_type) NOT IN (SELECT prompt_id, subagent_type FROM claude_code_tool_results WHERE subagent_type != '')
)
WHERE kind != 'builtin'
GROUP BY kind, name
ORDER BY calls DESC, kind, name
