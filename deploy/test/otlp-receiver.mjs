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
import { flattenTraces as take } from './otlp-spans.mjs'

const args = process.argv.slice(2)
const portAt = args.indexOf('--port')
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0
const file = args.find((a, i) => !a.startsWith('--') && (portAt < 0 || i !== portAt + 1))
const spans = []

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
