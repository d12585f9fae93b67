-- name: cost-by-user-day
-- description: Spend and tokens per user per day (daily rollup; the cost and token counters where a user has no api_request events that day, as at level basic: 0 requests there).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  day,
  user,
  round(sum(cost_usd), 6) AS cost_usd,
  sum(requests) AS requests,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens
FROM claude_code_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY day, user
ORDER BY day, user
