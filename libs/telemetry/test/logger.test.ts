import { describe, expect, it } from '@jest/globals'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { createLogger } from '../src/index.js'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

describe('createLogger', () => {
  it('writes trace_id and span_id on lines logged inside an active span, and none outside', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'log-')), 'log.json')
    const log = createLogger({ name: 'edge-1', destination: file })
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 })
    context.with(trace.setSpan(context.active(), span), () => { log.child({ component: 'access' }).info('inside') })
    log.info('outside')
    await new Promise<void>(resolve => { log.flush(() => { resolve() }) })
    const [inside, outside] = (await readFile(file, 'utf8')).trim().split('\n').map(l => JSON.parse(l))
    expect(inside).toMatchObject({ msg: 'inside', component: 'access', trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' })
    expect(outside.msg).toBe('outside')
    expect(outside.trace_id).toBeUndefined()
  })
})
