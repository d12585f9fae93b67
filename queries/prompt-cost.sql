-- name: prompt-cost
-- description: The most expensive prompts: cost, API requests (fan-out) and tool calls per prompt.
-- param: limit UInt32 = 20 -- how many prompts
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  prompt_id,
  any(session_id) AS session_id,
  any(user) AS user,
  sum(api_requests) AS api_requests,
  sum(tool_calls) AS tool_calls,
  round(sum(cost_usd), 6) AS cost_usd
FROM claude_code_daily_prompts
WHERE day BETWEEN {from:Date} AND {to:Date} AND prompt_id != ''
GROUP BY prompt_id
ORDER BY cost_usd DESC, prompt_id
LIMIT {limit:UInt32}
