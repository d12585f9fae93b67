-- name: cost-by-model-source
-- description: Team spend and requests by model and query source (main, subagent, auxiliary: the client's own mapping of raw sources such as sdk, repl_main_thread, agent:builtin:general-purpose, compact); every role may run it.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  model,
  query_source,
  round(sum(cost_usd), 6) AS cost_usd,
  sum(requests) AS requests
FROM claude_code_team_daily_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY model, query_source
ORDER BY model, query_source
