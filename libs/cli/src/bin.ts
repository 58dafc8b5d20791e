#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { cluster } from './commands/cluster.js'
import { get } from './commands/get.js'
import { keygen, DEFAULT_KEY_FILE } from './commands/keygen.js'
import { publish } from './commands/publish.js'
import { token } from './commands/token.js'
import { readClientToken } from '@codio/auth'
import { registerAdmin } from './commands/admin/index.js'
import { resolveEndpoint } from './endpoints.js'
import { parseSize } from './format.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** Ctrl-C cancels the running transfer so `get -o` can remove its partial file. */
const abort = new AbortController()
process.once('SIGINT', () => { abort.abort(); process.once('SIGINT', () => process.exit(130)) })

/** Run a command body; any failure is one line on stderr and exit code 1. */
function action<A extends unknown[]> (name: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args)
    } catch (err: any) {
      process.stderr.write(`codio ${name}: ${String(err?.message ?? err)}\n`)
      if (process.env.CODIO_DEBUG != null && err?.stack != null) process.stderr.write(`${err.stack}\n`)
      process.exitCode = 1
    }
  }
}

function sizeArg (value: string): number {
  const n = parseSize(value)
  if (n == null) throw new InvalidArgumentError('expected a positive byte count, e.g. 262144 or 256k')
  return n
}

const program = new Command()
  .name('codio')
  .description('Codio: a peer-to-peer content delivery network')
  .version(pkg.version)

program.command('publish')
  .description('upload a file to the origin; prints its content ID as the last line of stdout')
  .argument('<file>', 'file to publish')
  .option('--origin <url>', 'origin URL (default: $CODIO_ORIGIN, else the origin in .codio/cluster.json)')
  .option('--type <media>', 'media type (default: guessed from the file extension)')
  .option('--chunk-size <bytes>', 'chunk size the origin splits the content into (k/m suffixes allowed)', sizeArg)
  .option('--fec <k+m>', 'Reed-Solomon protection: k data chunks + m parity chunks per group (e.g. 10+4), or "none" (default: the origin\'s)')
  .option('--token-file <file>', 'file holding a bearer token with the publish scope (default: $CODIO_TOKEN_FILE; none without either)')
  .option('-q, --quiet', 'no progress output')
  .action(action('publish', async (file: string, opts: { origin?: string, type?: string, chunkSize?: number, fec?: string, tokenFile?: string, quiet?: boolean }) => {
    const origin = await resolveEndpoint('origin', { flag: opts.origin })
    const tokenFile = opts.tokenFile ?? (process.env.CODIO_TOKEN_FILE === '' ? undefined : process.env.CODIO_TOKEN_FILE)
    const bearer = tokenFile == null ? undefined : await readClientToken(tokenFile)
    const result = await publish(file, { origin, type: opts.type, chunkSize: opts.chunkSize, fec: opts.fec, token: bearer, quiet: opts.quiet, signal: abort.signal })
    process.stdout.write(`${result.cid}\n`)
  }))

program.command('get')
  .description('download content by ID from an edge, to a file or stdout')
  .argument('<cid>', 'content ID')
  .option('--edge <url>', 'edge URL (default: $CODIO_EDGE, else the first edge in .codio/cluster.json)')
  .option('-o, --output <file>', 'write to FILE (atomically) instead of stdout')
  .option('-q, --quiet', 'no progress output')
  .action(action('get', async (cid: string, opts: { edge?: string, output?: string, quiet?: boolean }) => {
    const edge = await resolveEndpoint('edge', { flag: opts.edge })
    await get(cid, { edge, output: opts.output, quiet: opts.quiet, signal: abort.signal })
  }))

program.command('keygen')
  .description('generate an Ed25519 publisher key pair; prints the public key (base64url)')
  .option('-o, --output <file>', 'key file', DEFAULT_KEY_FILE)
  .option('-f, --force', 'overwrite an existing key file')
  .option('--public <file>', 'also write the public key alone (a JWK that nodes can trust)')
  .option('--if-missing', 'keep an existing key file (print its public key) instead of failing')
  .action(action('keygen', async (opts: { output: string, force?: boolean, public?: string, ifMissing?: boolean }) => {
    const result = await keygen({ output: opts.output, force: opts.force, publicOutput: opts.public, ifMissing: opts.ifMissing })
    process.stderr.write(`${result.created ? 'saved' : 'kept'} ${result.path}\n`)
    process.stdout.write(`${result.publicKey}\n`)
  }))

program.command('token')
  .description('make a random bearer token (32 bytes, base64url) for the [auth] token files; printed on stdout without -o')
  .option('-o, --output <file>', 'write it to FILE (mode 0600) and print nothing secret')
  .option('--if-missing', 'keep an existing FILE instead of failing (one-shot set-up jobs)')
  .action(action('token', async (opts: { output?: string, ifMissing?: boolean }) => {
    const result = await token({ output: opts.output, ifMissing: opts.ifMissing })
    if (result.token != null) process.stdout.write(`${result.token}\n`)
    else process.stderr.write(`${result.created ? 'saved' : 'kept'} ${result.path!}\n`)
  }))

function countArg (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('expected a whole number from 1 to 64')
  return n
}

program.command('cluster')
  .description('run a local cluster (1 origin, relays, edges) as processes on loopback; Ctrl-C stops it')
  .option('--edges <n>', 'number of edges', countArg, 2)
  .option('--relays <n>', 'number of relays', countArg, 2)
  .option('--dir <path>', 'state directory: keys, stores, configs, logs, cluster.json', '.codio')
  .option('--sample <file>', 'file to publish once the cluster is ready (default: the Node.js binary)')
  .option('--no-sample', 'publish nothing at start')
  .option('--log-level <level>', 'log level of the services', 'info')
  .option('--no-tracker', 'run without the tracker, NATS and Redis (edges use the DHT alone)')
  .action(action('cluster', async (opts: { edges: number, relays: number, dir: string, sample?: string | boolean, logLevel: string, tracker: boolean }) => {
    await cluster({
      edges: opts.edges,
      relays: opts.relays,
      dir: opts.dir,
      sample: opts.sample === false ? false : typeof opts.sample === 'string' ? opts.sample : undefined,
      logLevel: opts.logLevel,
      tracker: opts.tracker
    })
  }))

registerAdmin(program, action)

await program.parseAsync(process.argv)
