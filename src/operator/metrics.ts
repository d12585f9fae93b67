/** The operator's Prometheus metrics, in the text exposition format (no client library needed for five series). */

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export class OperatorMetrics {
  private readonly reconciles = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly watchRestarts = new Map<string, number>();
  private readonly bucketCounts = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private durationCount = 0;
  queueDepth: () => number = () => 0;
  isLeader: () => boolean = () => false;

  observeReconcile(result: 'success' | 'error', seconds: number): void {
    this.reconciles.set(result, (this.reconciles.get(result) ?? 0) + 1);
    this.durationSum += seconds;
    this.durationCount++;
    DURATION_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.bucketCounts[index]!++;
    });
  }

  countError(reason: string): void {
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  countWatchRestart(resource: string, cause: string): void {
    const key = `${resource}\0${cause}`;
    this.watchRestarts.set(key, (this.watchRestarts.get(key) ?? 0) + 1);
  }

  reconcileCount(result: 'success' | 'error'): number {
    return this.reconciles.get(result) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    lines.push('# HELP telemetrystack_reconcile_total Reconciles of TelemetryStacks by result.', '# TYPE telemetrystack_reconcile_total counter');
    for (const result of ['success', 'error']) lines.push(`telemetrystack_reconcile_total${labelText({ result })} ${this.reconciles.get(result) ?? 0}`);
    lines.push('# HELP telemetrystack_reconcile_duration_seconds Time one reconcile takes.', '# TYPE telemetrystack_reconcile_duration_seconds histogram');
    DURATION_BUCKETS.forEach((bound, index) => lines.push(`telemetrystack_reconcile_duration_seconds_bucket${labelText({ le: String(bound) })} ${this.bucketCounts[index]}`));
    lines.push(`telemetrystack_reconcile_duration_seconds_bucket${labelText({ le: '+Inf' })} ${this.durationCount}`);
    lines.push(`telemetrystack_reconcile_duration_seconds_sum ${this.durationSum}`, `telemetrystack_reconcile_duration_seconds_count ${this.durationCount}`);
    lines.push('# HELP telemetrystack_reconcile_errors_total Failed reconciles by reason.', '# TYPE telemetrystack_reconcile_errors_total counter');
    for (const [reason, count] of [...this.errors].sort()) lines.push(`telemetrystack_reconcile_errors_total${labelText({ reason })} ${count}`);
    lines.push('# HELP telemetrystack_queue_depth Stacks waiting to be reconciled.', '# TYPE telemetrystack_queue_depth gauge', `telemetrystack_queue_depth ${this.queueDepth()}`);
    lines.push('# HELP telemetrystack_leader Whether this replica leads (1) or stands by (0).', '# TYPE telemetrystack_leader gauge', `telemetrystack_leader ${this.isLeader() ? 1 : 0}`);
    lines.push('# HELP telemetrystack_watch_restarts_total Watches restarted, by resource and cause (silent, error, gone).', '# TYPE telemetrystack_watch_restarts_total counter');
    for (const [key, count] of [...this.watchRestarts].sort()) {
      const [resource, cause] = key.split('\0') as [string, string];
      lines.push(`telemetrystack_watch_restarts_total${labelText({ resource, cause })} ${count}`);
    }
    // The two process figures a memory question starts with (names as prom-client uses them).
    const memory = process.memoryUsage();
    lines.push('# HELP process_resident_memory_bytes Resident memory size in bytes.', '# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${memory.rss}`);
    lines.push('# HELP nodejs_heap_size_used_bytes V8 heap in use, in bytes.', '# TYPE nodejs_heap_size_used_bytes gauge', `nodejs_heap_size_used_bytes ${memory.heapUsed}`);
    // Where resident memory goes beyond the live heap: the heap V8 keeps committed, and memory outside it (buffers, native modules).
    lines.push('# HELP nodejs_heap_size_total_bytes V8 heap committed, in bytes.', '# TYPE nodejs_heap_size_total_bytes gauge', `nodejs_heap_size_total_bytes ${memory.heapTotal}`);
    lines.push('# HELP nodejs_external_memory_bytes Memory of C++ objects bound to JavaScript objects (buffers included), in bytes.', '# TYPE nodejs_external_memory_bytes gauge', `nodejs_external_memory_bytes ${memory.external}`);
    return `${lines.join('\n')}\n`;
  }
}
