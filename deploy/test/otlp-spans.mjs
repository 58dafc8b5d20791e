/**
 * OTLP/JSON traces (an `ExportTraceServiceRequest`, as the OTLP/HTTP exporter posts it and as
 * the Collector's file exporter writes one per line) flattened into one record per span:
 *
 *   { traceId, spanId, parentSpanId, name, kind, service, scope, attributes, status, startMs, endMs, events }
 *
 * (IDs hex; `kind` the OTLP number, 2 = SERVER, 3 = CLIENT; `service` the resource's
 * `service.name`; `attributes` a plain object, arrays as arrays).
 */
/** An OTLP AnyValue as a plain value. */
function plain (v) {
  if (v == null) return null
  if ('stringValue' in v) return v.stringValue
  if ('boolValue' in v) return v.boolValue
  if ('intValue' in v) return Number(v.intValue)
  if ('doubleValue' in v) return v.doubleValue
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(plain)
  if ('kvlistValue' in v) return attributes(v.kvlistValue.values)
  if ('bytesValue' in v) return v.bytesValue
  return null
}
function attributes (list = []) {
  return Object.fromEntries(list.map(a => [a.key, plain(a.value)]))
}
/** OTLP/JSON IDs are hex; a base64 one (proto3 JSON mapping) is turned into hex. */
function hex (id) {
  if (id == null || id === '') return ''
  return /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex')
}
const ms = ns => Number(BigInt(ns ?? 0) / 1000n) / 1000

export function flattenTraces (body) {
  const out = []
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          service: resource['service.name'],
          scope: ss.scope?.name,
          attributes: attributes(s.attributes),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          startMs: ms(s.startTimeUnixNano),
          endMs: ms(s.endTimeUnixNano),
          events: (s.events ?? []).map(e => ({ name: e.name, attributes: attributes(e.attributes) }))
        })
      }
    }
  }
  return out
}

