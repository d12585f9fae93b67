-- name: cache-efficiency
-- description: Team prompt-cache efficiency per model: share of prompt tokens read from the cache; every role may run it.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
SELECT
  model,
  sum(input_tokens) AS input_tokens,
  sum(cache_read_tokens) AS cache_read_tokens,
  sum(cache_creation_tokens) AS cache_creation_tokens,
  round(if(input_tokens + cache_read_tokens + cache_creation_tokens = 0, 0,
    cache_read_tokens / (input_tokens + cache_read_tokens + cache_creation_tokens)), 4) AS cache_hit_ratio
FROM claude_code_team_daily_usage
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY model
ORDER BY model
