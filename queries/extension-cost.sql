-- name: extension-cost
-- description: API requests and spend attributed to a subagent (agent.name), a skill (skill.name) or an MCP server (mcp_server.name), as client 2.1.x marks its api_request events; a request marked with several is counted under each.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  extension.1 AS kind,
  extension.2 AS name,
  count() AS requests,
  round(sum(cost_usd), 6) AS cost_usd,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens
FROM claude_code_api_requests
ARRAY JOIN [('subagent', agent_name), ('skill', skill_name), ('mcp', mcp_server_name)] AS extension
WHERE day BETWEEN {from:Date} AND {to:Date} AND extension.2 != ''
GROUP BY kind, name
ORDER BY cost_usd DESC, kind, name
