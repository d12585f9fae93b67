/**
 * Sends Claude-Code-shaped telemetry (an api_request event and cost/token counters) the way
 * Claude Code does: the OpenTelemetry JS SDK configured only by the OTEL_* environment that
 * `telemetry-stack env` printed. Used by test/e2e-kind.sh; exits non-zero if an export fails.
 *
 *   eval "$(telemetry-stack env --user me)"; node test/e2e/send-telemetry.ts SESSION_ID
 *
 * The JS HTTP exporters used here send OTLP/JSON (the proto ones are not a dependency); the
 * collector's HTTP receiver accepts both on the same port, so the endpoint and the
 * Authorization header are exercised exactly as Claude Code uses them.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

const session = process.argv[2] ?? `e2e-${Date.now()}`;
for (const name of ['CLAUDE_CODE_ENABLE_TELEMETRY', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS']) {
  if (!process.env[name]) {
    console.error(`send-telemetry: ${name} is not set; run: eval "$(telemetry-stack env --user NAME)"`);
    process.exit(2);
  }
}

const resource = resourceFromAttributes({ 'service.name': 'claude-code', 'service.version': '2.1.130', 'os.type': 'linux' });
const common = { 'session.id': session, 'user.id': 'e2e-install', 'user.email': 'e2e@example.com', 'terminal.type': 'e2e' };

let failures = 0;
const logExporter = new OTLPLogExporter();
const exportLogs = logExporter.export.bind(logExporter);
logExporter.export = (logs, done) =>
  exportLogs(logs, (result) => {
    if (result.code !== 0) {
      failures++;
      console.error(`send-telemetry: log export failed: ${result.error?.message ?? 'unknown error'}`);
    }
    done(result);
  });
const loggers = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
const logger = loggers.getLogger('com.anthropic.claude_code.events');
logger.emit({
  body: 'claude_code.api_request',
  attributes: {
    ...common,
    'event.name': 'api_request',
    'event.timestamp': new Date().toISOString(),
    model: 'claude-sonnet-4-5',
    cost_usd: '0.0123',
    duration_ms: '2100',
    input_tokens: '1200',
    output_tokens: '340',
    cache_read_tokens: '5000',
    cache_creation_tokens: '0',
    query_source: 'main',
  },
});

const metricExporter = new OTLPMetricExporter();
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const meters = new MeterProvider({ resource, readers: [reader] });
const meter = meters.getMeter('com.anthropic.claude_code');
meter.createCounter('claude_code.cost.usage', { unit: 'USD' }).add(0.0123, { ...common, model: 'claude-sonnet-4-5' });
meter.createCounter('claude_code.token.usage', { unit: 'tokens' }).add(1200, { ...common, model: 'claude-sonnet-4-5', type: 'input' });

await loggers.forceFlush();
await reader.forceFlush().catch((error: unknown) => {
  failures++;
  console.error(`send-telemetry: metric export failed: ${error instanceof Error ? error.message : String(error)}`);
});
await loggers.shutdown();
await meters.shutdown();
if (failures > 0) process.exit(1);
console.log(`send-telemetry: sent 1 api_request event and 2 counters for session ${session}`);
