-- name: edit-acceptance
-- description: Edit tool decisions by language: accepted, rejected, acceptance rate (code_edit_tool.decision counter).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  language,
  sumIf(increment, decision = 'accept') AS accepted,
  sumIf(increment, decision = 'reject') AS rejected,
  round(if(accepted + rejected = 0, 0, accepted / (accepted + rejected)), 4) AS acceptance_rate
FROM claude_code_daily_increments
WHERE metric = 'claude_code.code_edit_tool.decision' AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY language
ORDER BY language
