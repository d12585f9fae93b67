-- name: active-users
-- description: Daily active users and sessions (users with at least one event that day).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  day,
  uniqExact(user) AS active_users,
  uniqExact(session_id) AS sessions
FROM claude_code_events
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY day
ORDER BY day
