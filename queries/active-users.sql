-- name: active-users
-- description: Daily active users and sessions (users with at least one event that day; sessions counts events that carry session.id, which OTEL_METRICS_INCLUDE_SESSION_ID=false removes).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  day,
  uniqExact(user) AS active_users,
  uniqExactIf(session_id, session_id != '' AND NOT startsWith(session_id, 'prompt:')) AS sessions
FROM claude_code_daily_prompts
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY day
ORDER BY day
