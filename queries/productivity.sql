-- name: productivity
-- description: Lines of code added and removed, commits, pull requests, spend and cost per pull request, per user (from the counters; delta or cumulative).
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  user,
  sumIf(increment, metric = 'claude_code.lines_of_code.count' AND type = 'added') AS lines_added,
  sumIf(increment, metric = 'claude_code.lines_of_code.count' AND type = 'removed') AS lines_removed,
  sumIf(increment, metric = 'claude_code.commit.count') AS commits,
  sumIf(increment, metric = 'claude_code.pull_request.count') AS pull_requests,
  round(sumIf(increment, metric = 'claude_code.cost.usage'), 6) AS cost_usd,
  if(pull_requests = 0, NULL, round(cost_usd / pull_requests, 4)) AS cost_per_pull_request
FROM claude_code_daily_increments
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY user
ORDER BY user
