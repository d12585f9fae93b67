-- name: spend-over-time
-- description: Spend (USD) per day, one series per user or per model (by), for one user and one model or for all (*); the dashboards' spend chart.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
-- param: by String = user -- user or model: what each series is
-- param: user String = * -- one user, or * for everyone
-- param: model String = * -- one model, or * for every model
SELECT
  day,
  if({by:String} = 'model', model, user) AS series,
  round(sum(cost_usd), 6) AS cost_usd
FROM claude_code_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
  AND throwIf({by:String} NOT IN ('user', 'model'), 'by must be user or model') = 0
  AND ({user:String} = '*' OR user = {user:String})
  AND ({model:String} = '*' OR model = {model:String})
GROUP BY day, series
ORDER BY day, series
