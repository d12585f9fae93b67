-- name: session-trace
-- description: Every event of one session in order, with each event's salient fields.
-- param: session String -- the session.id to trace
SELECT
  timestamp,
  event,
  prompt_id,
  attributes['model'] AS model,
  if(attributes['tool_name'] != '', attributes['tool_name'], attributes['name']) AS tool,
  multiIf(event = 'tool_result', if(attributes['decision_type'] != '', attributes['decision_type'], attributes['decision']), event = 'tool_decision', attributes['decision'], '') AS decision,
  multiIf(event = 'tool_result', attributes['success'], '') AS success,
  attributes['status_code'] AS status_code,
  toUInt32OrZero(attributes['attempt']) AS attempt,
  round(if(attributes['cost_usd'] != '', toFloat64OrZero(attributes['cost_usd']), toFloat64OrZero(attributes['cost_usd_micros']) / 1000000), 6) AS cost_usd,
  toUInt64OrZero(attributes['input_tokens']) AS input_tokens,
  toUInt64OrZero(attributes['output_tokens']) AS output_tokens,
  toFloat64OrZero(attributes['duration_ms']) AS duration_ms
FROM claude_code_events
WHERE session_id = {session:String}
ORDER BY timestamp, event_sequence
