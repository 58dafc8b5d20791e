/**
 * @packageDocumentation
 * Logging (pino, JSON lines) and Prometheus metrics (prom-client) for Codio processes.
 *
 * @example
 * ```ts
 * import { createLogger, createMetricsRegistry } from '@codio/telemetry'
 * const log = createLogger({ name: 'edge-1', level: 'info' })
 * const registry = createMetricsRegistry({ role: 'edge' })
 * ```
 */
import { context, trace } from '@opentelemetry/api'
import { pino, type Logger, type LevelWithSilent } from 'pino'
import { Registry, collectDefaultMetrics } from 'prom-client'

export type { Logger } from 'pino'
export { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface LoggerInit {
  /** Process name, e.g. `edge-1`; carried on every line. */
  name: string
  /** Default `info`. */
  level?: LevelWithSilent
  /** Where lines go. Default: standard output (file descriptor 1). */
  destination?: number | string
}

/**
 * A pino JSON-lines logger. Lines are written asynchronously and flushed on exit. A line
 * written while an OpenTelemetry span is active carries its `trace_id` and `span_id` (hex, the
 * OTel log data model's field names), so logs and traces join.
 */
export function createLogger (init: LoggerInit): Logger {
  return pino({ name: init.name, level: init.level ?? 'info', mixin: traceIds }, pino.destination({ dest: init.destination ?? 1, sync: false }))
}

/** The active span's IDs, or nothing (no span, tracing off: the API's no-op answers at once). */
function traceIds (): { trace_id?: string, span_id?: string } {
  const sc = trace.getSpan(context.active())?.spanContext()
  if (sc == null || !trace.isSpanContextValid(sc)) return {}
  return { trace_id: sc.traceId, span_id: sc.spanId }
}

export interface MetricsInit {
  /** `origin`, `relay` or `edge`; added as a `role` label to every series. */
  role: string
  /** Also collect Node.js process metrics (CPU, memory, event-loop lag). Default true. */
  processMetrics?: boolean
}

/**
 * A Prometheus registry for one process. Metric names follow the Prometheus naming conventions
 * (`codio_<what>_<base unit>`, `_total` on counters) and are the same in every role: the role
 * is the `role` label this registry adds to every series, so one query covers the fleet.
 */
export function createMetricsRegistry (init: MetricsInit): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ role: init.role })
  if (init.processMetrics ?? true) collectDefaultMetrics({ register: registry })
  return registry
}
