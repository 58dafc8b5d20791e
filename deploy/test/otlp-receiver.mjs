#!/usr/bin/env node
/**
 * A minimal OTLP/HTTP trace receiver, for tests and benchmarks: accepts the OpenTelemetry
 * exporter's `POST /v1/traces` in OTLP/JSON (`@opentelemetry/exporter-trace-otlp-http`;
 * gzip-encoded or not) and keeps every span as one flat record:
 *
 *   { traceId, spanId, parentSpanId, name, kind, service, attributes, status, startMs, endMs, events }
 *
 * (IDs hex; `kind` the OTLP number, 2 = SERVER, 3 = CLIENT; `service` the resource's
 * `service.name`; `attributes` a plain object, arrays as arrays). `GET /spans` answers them all
 * as JSON; with a file argument each span is also appended to it as a JSON line. A body that is
 * not OTLP/JSON gets 400. Other OTLP signals (`/v1/metrics`, `/v1/logs`) are taken and dropped.
 *
 * Usage: node otlp-receiver.mjs [spans.jsonl] [--port N]
 * Prints `listening http://127.0.0.1:<port>` on standard output once it accepts requests.
 */
import { createServer } from 'node:http'
import { appendFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

const args = process.argv.slice(2)
const portAt = args.indexOf('--port')
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0
const file = args.find((a, i) => !a.startsWith('--') && (portAt < 0 || i !== portAt + 1))
const spans = []

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

function take (body) {
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

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/spans') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(spans))
      return
    }
    if (req.method !== 'POST' || !req.url.startsWith('/v1/')) {
      res.writeHead(404).end()
      return
    }
    if (req.url !== '/v1/traces') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      return
    }
    let got
    try {
      let raw = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
      if (!String(req.headers['content-type'] ?? '').includes('json')) throw new Error(`expected OTLP/JSON, got ${req.headers['content-type']}`)
      got = take(JSON.parse(raw.toString('utf8')))
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: err.message }))
      return
    }
    spans.push(...got)
    if (file != null && got.length > 0) appendFileSync(file, got.map(s => JSON.stringify(s) + '\n').join(''))
    // ExportTraceServiceResponse with nothing rejected
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`)
})
process.on('SIGTERM', () => { server.close(); process.exit(0) })
