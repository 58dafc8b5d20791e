import { readFile } from 'node:fs/promises'
import type { TlsConfig } from './config.js'
import { TlsConfigError } from './errors.js'

/**
 * The `{ cert, key }` options of `https.createServer` (or Fastify's `https`) for `tls`.
 * @throws TlsConfigError naming the file that cannot be read or holds no PEM block
 */
export async function loadTls (tls: TlsConfig): Promise<{ cert: Buffer, key: Buffer }> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    let pem: Buffer
    try {
      pem = await readFile(file)
    } catch (err) {
      throw new TlsConfigError(`cannot read the TLS ${what} file ${file}: ${(err as Error).message}`, { cause: err })
    }
    if (!pem.includes('-----BEGIN ')) throw new TlsConfigError(`the TLS ${what} file ${file} holds no PEM block`)
    return pem
  }
  const [cert, key] = await Promise.all([read(tls.certFile, 'certificate'), read(tls.keyFile, 'key')])
  return { cert, key }
}
