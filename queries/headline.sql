-- name: headline
-- description: The numbers a team lead reads first, for a period: spend (USD), API requests, active users, sessions, API error rate (failed requests per request made) and prompt-cache hit rate (share of prompt tokens read from the cache), for one user and one model or for all (*). Users and sessions count anyone with an event in the period, whatever the model.
-- param: from Date = 1970-01-01 -- first day, inclusive
-- param: to Date = 2999-12-31 -- last day, inclusive
-- param: user String = * -- one user, or * for everyone
-- param: model String = * -- one model, or * for every model
SELECT
  round(usage.spend, 6) AS cost_usd,
  usage.api_requests AS requests,
  people.active_users AS active_users,
  people.sessions AS sessions,
  errors.api_errors AS api_errors,
  round(if(usage.api_requests + errors.api_errors = 0, 0, errors.api_errors / (usage.api_requests + errors.api_errors)), 4) AS error_rate,
  round(if(usage.prompt_tokens = 0, 0, usage.cache_read / usage.prompt_tokens), 4) AS cache_hit_ratio
FROM (
  SELECT
    sum(cost_usd) AS spend,
    sum(requests) AS api_requests,
    sum(cache_read_tokens) AS cache_read,
    sum(input_tokens + cache_read_tokens + cache_creation_tokens) AS prompt_tokens
  FROM claude_code_usage
  WHERE day BETWEEN {from:Date} AND {to:Date}
    AND ({user:String} = '*' OR user = {user:String})
    AND ({model:String} = '*' OR model = {model:String})
) AS usage
CROSS JOIN (
  SELECT
    uniqExact(user) AS active_users,
    uniqExactIf(session_id, session_id != '' AND NOT startsWith(session_id, 'prompt:')) AS sessions
  FROM claude_code_daily_prompts
  WHERE day BETWEEN {from:Date} AND {to:Date}
    AND ({user:String} = '*' OR user = {user:String})
) AS people
CROSS JOIN (
  SELECT count() AS api_errors
  FROM claude_code_api_errors
  WHERE day BETWEEN {from:Date} AND {to:Date}
    AND ({user:String} = '*' OR user = {user:String})
    AND ({model:String} = '*' OR model = {model:String})
) AS errors
