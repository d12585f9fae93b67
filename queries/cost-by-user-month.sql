-- name: cost-by-user-month
-- description: Spend and tokens per user per calendar month (daily rollup, else the cost and token counters as at level basic): the monthly cost report.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  toStartOfMonth(day) AS month,
  user,
  round(sum(cost_usd), 6) AS cost_usd,
  sum(requests) AS requests,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens
FROM claude_code_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY month, user
ORDER BY month, cost_usd DESC, user
