import { request } from 'node:http'

/** An HTTP answer to {@link postBody}, and how much of the body went out before it. */
export interface Probe {
  status: number
  body: string
  headers: Record<string, string | string[] | undefined>
  /** body bytes the client got to write before the answer or the connection's end */
  sent: number
  ms: number
}

const MiB = 1024 * 1024

/**
 * POST `size` bytes of spaces (in 1 MiB writes, waiting for the socket to drain) or `body` to
 * `url`, declared with Content-Length unless `chunked`; resolves with the answer once the
 * connection is done, whether or not the whole body went out (a server that refuses a body
 * may hang up on the rest of it). For request-size limit tests.
 *
 * @throws Error "no answer" when the connection ends before a complete answer
 */
export async function postBody (url: string, headers: Record<string, string>, body: Buffer | { size: number, chunked: boolean }): Promise<Probe> {
  return await new Promise((resolve, reject) => {
    const t0 = Date.now()
    let sent = 0
    let answer: Omit<Probe, 'sent' | 'ms'> | undefined
    const h = { ...headers }
    if (!Buffer.isBuffer(body) && !body.chunked) h['content-length'] = String(body.size)
    const req = request(url, { method: 'POST', headers: h, agent: false }, (res) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => { answer = { status: res.statusCode ?? 0, body: text, headers: res.headers } })
    })
    req.on('error', () => {}) // EPIPE/ECONNRESET once the server hangs up on the rest of the body
    req.on('close', () => answer === undefined ? reject(new Error(`no answer (sent ${sent} B)`)) : resolve({ ...answer, sent, ms: Date.now() - t0 }))
    if (Buffer.isBuffer(body)) {
      req.end(body)
      return
    }
    const chunk = Buffer.alloc(MiB, 0x20)
    const pump = (): void => {
      while (sent < body.size && !req.destroyed && answer === undefined) {
        sent += chunk.length
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      if (!req.destroyed) req.end()
    }
    pump()
  })
}
