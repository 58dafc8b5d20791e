import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

export interface CliResult { code: number | null, stdout: Buffer, stderr: string }

/**
 * Run the built CLI as a real child process. Asynchronous on purpose: the
 * test's HTTP server lives in this process and must keep serving meanwhile.
 */
export async function runCli (args: string[], options: { cwd?: string, env?: Record<string, string> } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env }
  if (options.env?.CODIO_ORIGIN == null) delete env.CODIO_ORIGIN
  if (options.env?.CODIO_EDGE == null) delete env.CODIO_EDGE
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (b: Buffer) => out.push(b))
  child.stderr.on('data', (b: Buffer) => err.push(b))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }
}

export interface TestServer { url: string, close: () => Promise<void> }

/** A node:http server on 127.0.0.1, port 0. */
export async function startServer (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

export interface TempDir { path: string, remove: () => Promise<void> }

export async function tempDir (): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'codio-cli-'))
  return { path, remove: async () => rm(path, { recursive: true, force: true }) }
}

/** A file of `size` random bytes in `dir`; returns its path and bytes. */
export async function randomFile (dir: string, name: string, size: number): Promise<{ path: string, data: Buffer }> {
  const data = randomBytes(size)
  const path = join(dir, name)
  await writeFile(path, data)
  return { path, data }
}

export const lastLine = (out: Buffer): string => out.toString('utf8').trimEnd().split('\n').at(-1) ?? ''
