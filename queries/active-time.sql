-- name: active-time
-- description: Active time per user in hours, by type (user: typing and reading; cli: Claude working). Right for delta and cumulative counters.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  user,
  type,
  round(sum(increment) / 3600, 4) AS active_hours
FROM claude_code_daily_increments
WHERE metric = 'claude_code.active_time.total' AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY user, type
ORDER BY user, type
