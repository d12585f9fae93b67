-- name: api-retries
-- description: Failed API requests by HTTP status and how they ended: errors, of which retried (attempt > 1), retries exhausted (api_retries_exhausted), and the most attempts. 529 includes "Repeated 529 Overloaded errors" (no status sent, 3 attempts). A retry that succeeds sends no event (client 2.1.x), so it is not counted.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  status_code,
  sum(errors) AS errors,
  sum(retried) AS retried,
  sum(exhausted) AS exhausted,
  max(attempts) AS max_attempts
FROM (
  SELECT status_code, count() AS errors, countIf(attempt > 1) AS retried, toUInt64(0) AS exhausted, max(attempt) AS attempts
  FROM claude_code_api_errors
  WHERE day BETWEEN {from:Date} AND {to:Date}
  GROUP BY status_code
  UNION ALL
  SELECT status_code, toUInt64(0) AS errors, toUInt64(0) AS retried, count() AS exhausted, max(total_attempts) AS attempts
  FROM claude_code_api_retries_exhausted
  WHERE day BETWEEN {from:Date} AND {to:Date}
  GROUP BY status_code
)
GROUP BY status_code
ORDER BY errors DESC, status_code
