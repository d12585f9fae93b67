-- name: cost-by-user
-- description: Spend, requests and tokens per user (from the daily rollup, so it outlives raw retention; for a user and day without api_request events, level basic, from the cost and token counters, with 0 requests). User = the authenticated user, else user.email, else user.account_uuid, else user.id.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  user,
  round(sum(cost_usd), 6) AS cost_usd,
  sum(requests) AS requests,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens
FROM claude_code_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY user
ORDER BY cost_usd DESC, user
