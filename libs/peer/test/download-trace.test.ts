import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { chunkCid } from '@codio/content'
import { DownloadTrace } from '../src/download-trace.js'

const exporter = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }))

const peer = async (): Promise<ReturnType<typeof peerIdFromPrivateKey>> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('DownloadTrace', () => {
  it('is one span with the chunks from each peer and an event per FEC rebuild, ended when the download settles', async () => {
    exporter.reset()
    const [a, b] = [await peer(), await peer()]
    const cid = chunkCid(randomBytes(16))
    const t = new DownloadTrace(cid, 10)
    // spans opened while the download starts are its children (the chunk requests' context)
    t.run(() => { trace.getTracer('test').startSpan('inside').end() })
    for (const [p, parity] of [[a, false], [b, false], [a, false], [b, true]] as const) t.chunk(p, parity)
    t.repaired(1, [12, 13])
    let finish!: () => void
    t.endWith(new Promise<void>(resolve => { finish = resolve }))
    expect(exporter.getFinishedSpans().map(s => s.name)).toEqual(['inside'])
    finish()
    await new Promise(resolve => setImmediate(resolve))
    const [inside, dl] = exporter.getFinishedSpans()
    expect(inside.parentSpanContext?.spanId).toBe(dl.spanContext().spanId)
    expect(dl.name).toBe('swarm.download')
    expect(dl.attributes).toMatchObject({
      'codio.content.id': cid.toString(),
      'codio.download.peers': [a.toString(), b.toString()],
      'codio.download.peer_chunks': [2, 2],
      'codio.download.chunks_received': 4,
      'codio.download.parity_received': 1,
      'codio.fec.chunks_rebuilt': 2
    })
    expect(dl.events.map(e => [e.name, e.attributes])).toEqual([['fec.rebuild', { 'codio.fec.group': 1, 'codio.fec.chunks_rebuilt': 2 }]])
  })

  it('records a failed download as the span\'s error', async () => {
    exporter.reset()
    const t = new DownloadTrace(chunkCid(randomBytes(16)), 3, { first: 1, last: 2 })
    class ChunkUnavailableError extends Error { override readonly name = 'ChunkUnavailableError' }
    t.endWith(Promise.reject(new ChunkUnavailableError('chunk 1: no peer has it')))
    await new Promise(resolve => setImmediate(resolve))
    const [dl] = exporter.getFinishedSpans()
    expect(dl.status).toEqual({ code: SpanStatusCode.ERROR, message: 'chunk 1: no peer has it' })
    expect(dl.attributes).toMatchObject({ 'codio.download.first': 1, 'codio.download.last': 2, 'error.type': 'ChunkUnavailableError' })
  })
})
