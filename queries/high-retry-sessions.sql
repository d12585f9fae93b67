-- name: high-retry-sessions
-- description: Sessions whose API errors needed many attempts or exhausted their retries (attempt 11 = the default retries exhausted; repeated 529s stop at attempt 3 with api_retries_exhausted). Without session.id a session is one prompt, prompt:<prompt.id>.
-- param: min_attempt UInt32 = 4 -- smallest attempt number that counts as many retries
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  session_id,
  count() AS api_errors,
  max(attempt) AS max_attempt
FROM claude_code_api_errors
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY session_id
HAVING max_attempt >= {min_attempt:UInt32}
  OR session_id IN (SELECT session_id FROM claude_code_api_retries_exhausted WHERE day BETWEEN {from:Date} AND {to:Date})
ORDER BY max_attempt DESC, api_errors DESC, session_id
