-- name: session-trace
-- description: Every event of one session in order, with each event's salient fields (an MCP tool as mcp__server__tool). Without session.id (OTEL_METRICS_INCLUDE_SESSION_ID=false) give prompt:<prompt.id>.
-- param: session String -- the session.id to trace
WITH
  if(attributes['tool_name'] != '', attributes['tool_name'], attributes['name']) AS tool_sent,
  if(attributes['mcp_server_name'] != '', attributes['mcp_server_name'], JSONExtractString(attributes['tool_parameters'], 'mcp_server_name')) AS mcp_server,
  if(attributes['mcp_tool_name'] != '', attributes['mcp_tool_name'], JSONExtractString(attributes['tool_parameters'], 'mcp_tool_name')) AS mcp_tool
SELECT
  timestamp,
  event,
  prompt_id,
  attributes['model'] AS model,
  if(tool_sent = 'mcp_tool' AND mcp_server != '', concat('mcp__', mcp_server, if(mcp_tool != '', concat('__', mcp_tool), '')), tool_sent) AS tool,
  multiIf(event = 'tool_result', if(attributes['decision_type'] != '', attributes['decision_type'], attributes['decision']), event = 'tool_decision', attributes['decision'], '') AS decision,
  multiIf(event = 'tool_result', attributes['success'], '') AS success,
  multiIf(attributes['status_code'] != '', attributes['status_code'], event IN ('api_error', 'api_retries_exhausted') AND (position(attributes['error'], '529') > 0 OR positionCaseInsensitive(attributes['error'], 'overloaded') > 0), '529', '') AS status_code,
  toUInt32OrZero(attributes['attempt']) AS attempt,
  round(if(attributes['cost_usd'] != '', toFloat64OrZero(attributes['cost_usd']), toFloat64OrZero(attributes['cost_usd_micros']) / 1000000), 6) AS cost_usd,
  toUInt64OrZero(attributes['input_tokens']) AS input_tokens,
  toUInt64OrZero(attributes['output_tokens']) AS output_tokens,
  toFloat64OrZero(attributes['duration_ms']) AS duration_ms
FROM claude_code_events
WHERE session_id = {session:String}
ORDER BY timestamp, event_sequence
