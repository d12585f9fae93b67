-- name: tokens-by-model
-- description: Team tokens per model, by kind (daily rollup, else the token counters as at level basic); every role may run it.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  model,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens,
  sum(cache_read_tokens) AS cache_read_tokens,
  sum(cache_creation_tokens) AS cache_creation_tokens
FROM claude_code_team_daily_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY model
ORDER BY model
