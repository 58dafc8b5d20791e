import { W3CTraceContextPropagator } from '@opentelemetry/core'

export interface TracingInit {
  /** `edge`, `relay`, `origin` or `tracker`: the service name defaults to `codio-<role>`. */
  role: string
  /**
   * Where the endpoint, service name and sampler come from. Default `process.env`. The SDK's
   * other settings (`OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, ...) are read from
   * `process.env`.
   */
  env?: NodeJS.ProcessEnv
}

/** The SDK of one process, or nothing when tracing is off. */
export interface Tracing {
  /** True when spans are exported (an OTLP endpoint is set and `OTEL_SDK_DISABLED` is not true). */
  readonly enabled: boolean
  /** `service.name` of every span (`OTEL_SERVICE_NAME`, default `codio-<role>`). */
  readonly serviceName: string
  /** Export the spans still buffered and stop the SDK; a no-op when off. Never rejects. */
  shutdown(): Promise<void>
}

/**
 * Is tracing asked for? Yes when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (non-empty) and `OTEL_SDK_DISABLED` is not `true`
 * (OpenTelemetry SDK environment variables specification).
 */
export function tracingRequested (env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim() !== '' || (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== ''
  return endpoint && (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() !== 'true'
}

/** Default trace ratio when `OTEL_TRACES_SAMPLER_ARG` is unset or out of [0, 1]. */
const DEFAULT_RATIO = 1

/**
 * Start the OpenTelemetry Node SDK for one process, traces only, configured by the standard
 * `OTEL_*` variables: OTLP over HTTP/JSON to `OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT`, batched
 * (`OTEL_BSP_*`), W3C Trace Context propagation, resource from `OTEL_RESOURCE_ATTRIBUTES`.
 * Sampling: `OTEL_TRACES_SAMPLER` as the specification lists; when unset,
 * `parentbased_traceidratio` with the ratio `OTEL_TRACES_SAMPLER_ARG` (default 1), so a fleet
 * sets one number and every process follows the root's decision.
 *
 * Off when no endpoint is set: nothing is started, nor even loaded (the SDK and its exporters
 * cost about 0.4 s and 30–50 MiB to import), `@opentelemetry/api` stays on its no-op tracer,
 * and spans cost a function call each.
 */
export async function startTracing (init: TracingInit): Promise<Tracing> {
  const env = init.env ?? process.env
  const serviceName = (env.OTEL_SERVICE_NAME ?? '').trim() || `codio-${init.role}`
  if (!tracingRequested(env)) return { enabled: false, serviceName, shutdown: async () => {} }
  const [{ NodeSDK }, { OTLPTraceExporter }, { ParentBasedSampler, TraceIdRatioBasedSampler }, { envDetector, serviceInstanceIdDetector, processDetector, hostDetector }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources')
  ])
  const sampler = (env.OTEL_TRACES_SAMPLER ?? '').trim() === '' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio(env.OTEL_TRACES_SAMPLER_ARG)) }) : undefined
  const sdk = new NodeSDK({
    serviceName,
    traceExporter: new OTLPTraceExporter({ url: tracesUrl(env) }),
    ...(sampler != null ? { sampler } : {}),
    textMapPropagator: new W3CTraceContextPropagator(),
    resourceDetectors: [envDetector, serviceInstanceIdDetector, processDetector, hostDetector],
    // traces only: metrics are Prometheus' (scraped), logs are pino's (stdout)
    metricReaders: [],
    logRecordProcessors: []
  })
  sdk.start()
  let stopped: Promise<void> | undefined
  return {
    enabled: true,
    serviceName,
    shutdown: async () => { await (stopped ??= sdk.shutdown().catch(() => {})) }
  }
}

/** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (OTLP exporter specification). */
function tracesUrl (env: NodeJS.ProcessEnv): string {
  const traces = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim()
  if (traces !== '') return traces
  return `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim().replace(/\/+$/, '')}/v1/traces`
}

function ratio (arg: string | undefined): number {
  const r = Number(arg)
  return arg == null || arg.trim() === '' || !Number.isFinite(r) || r < 0 || r > 1 ? DEFAULT_RATIO : r
}
