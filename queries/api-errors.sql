-- name: api-errors
-- description: API errors by HTTP status code (one api_error event per failed request, after its retries; "Repeated 529 Overloaded errors", sent without a status, count as 529; a retry that succeeds sends none: see api-retries).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  status_code,
  count() AS errors
FROM claude_code_api_errors
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY status_code
ORDER BY errors DESC, status_code
