/**
 * Real network faults for the e2e tests, on Linux: a network namespace joined to the root
 * namespace by a veth pair, shaped with `tc` (a `tbf` rate limit), nftables (random packet
 * loss, `numgen random`) and the link itself (set down and up); and Toxiproxy (Shopify's TCP
 * fault proxy, https://github.com/Shopify/toxiproxy) for latency with jitter, because the
 * kernel of this project's machines has no `netem` qdisc ("Specified qdisc kind is unknown")
 * and no modules to load one. Everything here needs root (CAP_NET_ADMIN); {@link netnsRefused}
 * says why it cannot run, for a test to skip with.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { freePort } from '@codio/sidecars'
import { until } from './local-cluster.js'

/** Run `cmd args...` synchronously; its stdout; throws with its stderr on a non-zero exit. */
export function run (cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim()
    throw new Error(`${cmd} ${args.join(' ')}: ${stderr !== undefined && stderr !== '' ? stderr : (err as Error).message}`)
  }
}

/**
 * Why this process cannot build a namespace with a shaped veth pair and nftables rules in it
 * (not root, no `ip`/`tc`/`nft`, or the kernel refuses), or `undefined` when it can. Tries it.
 */
export function netnsRefused (): string | undefined {
  const id = randomBytes(3).toString('hex')
  const ns = `codio-probe-${id}`
  try {
    run('ip', ['netns', 'add', ns])
    run('ip', ['link', 'add', `cpr${id}`, 'type', 'veth', 'peer', 'name', `cpn${id}`, 'netns', ns])
    run('tc', ['qdisc', 'add', 'dev', `cpr${id}`, 'root', 'tbf', 'rate', '10mbit', 'burst', '32kb', 'latency', '50ms'])
    run('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'probe'])
    return undefined
  } catch (err) {
    return (err as Error).message
  } finally {
    try { run('ip', ['link', 'del', `cpr${id}`]) } catch {}
    try { run('ip', ['netns', 'del', ns]) } catch {}
  }
}

/** The Toxiproxy server binary: `$TOXIPROXY_SERVER`, else `/usr/local/bin/toxiproxy-server` (scripts/install-toxiproxy.sh), else on PATH. */
export function toxiproxyBinary (): string | undefined {
  const candidates = [process.env.TOXIPROXY_SERVER, '/usr/local/bin/toxiproxy-server']
  for (const c of candidates) if (c != null && c !== '' && existsSync(c)) return c
  try {
    return run('sh', ['-c', 'command -v toxiproxy-server']).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * A network namespace `ns` linked to the root namespace by a veth pair: `rootIf` (address
 * `rootIp`/30) in the root namespace, `nsIf` (`nsIp`/30) in `ns`, and `ns`'s loopback up.
 * Names are unique per call (interface names ≤ 15 characters).
 */
export class NetnsLink {
  readonly ns: string
  readonly rootIf: string
  readonly nsIf: string
  readonly rootIp: string
  readonly nsIp: string
  private readonly table: string
  private lossOn = false

  constructor () {
    const id = randomBytes(3).toString('hex')
    this.ns = `codio-nf-${id}`
    this.rootIf = `cnf${id}r`
    this.nsIf = `cnf${id}n`
    this.table = `codio_nf_${id}`
    // a /30 in 10.200.0.0 – 10.249.255.252, at random: concurrent runs do not collide in practice
    const b = randomBytes(2)
    const net = `10.${200 + (b[0] % 50)}.${b[1]}`
    const quad = 4 * (1 + (randomBytes(1)[0] % 62))
    this.rootIp = `${net}.${quad + 1}`
    this.nsIp = `${net}.${quad + 2}`
  }

  /** Create the namespace and the veth pair, address both ends and bring them (and `ns`'s loopback) up. */
  create (): void {
    run('ip', ['netns', 'add', this.ns])
    run('ip', ['link', 'add', this.rootIf, 'type', 'veth', 'peer', 'name', this.nsIf, 'netns', this.ns])
    run('ip', ['addr', 'add', `${this.rootIp}/30`, 'dev', this.rootIf])
    run('ip', ['link', 'set', this.rootIf, 'up'])
    this.exec('ip', ['addr', 'add', `${this.nsIp}/30`, 'dev', this.nsIf])
    this.exec('ip', ['link', 'set', this.nsIf, 'up'])
    this.exec('ip', ['link', 'set', 'lo', 'up'])
  }

  /** Run a command inside the namespace (synchronously); its stdout. */
  exec (cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.ns, cmd, ...args])
  }

  /** Spawn a command inside the namespace (`ip netns exec` execs it: the child's PID is the command's). */
  spawn (cmd: string, args: string[], stdio: any = 'ignore'): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], { stdio })
  }

  /**
   * Limit both directions of the link to `rate` (a `tc` rate, e.g. `10mbit`) with a token
   * bucket filter (`tc-tbf(8)`) on each end's egress: a 32 KiB bucket, 50 ms of queue.
   */
  shape (rate: string): void {
    run('tc', ['qdisc', 'replace', 'dev', this.rootIf, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '50ms'])
    this.exec('tc', ['qdisc', 'replace', 'dev', this.nsIf, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '50ms'])
  }

  /** Remove the rate limits of {@link shape}. */
  unshape (): void {
    try { run('tc', ['qdisc', 'del', 'dev', this.rootIf, 'root']) } catch {}
    try { this.exec('tc', ['qdisc', 'del', 'dev', this.nsIf, 'root']) } catch {}
  }

  /** The root end's tbf counters: bytes and packets sent, packets dropped, times the bucket was empty (`overlimits`). */
  shapeStats (): { bytes: number, packets: number, dropped: number, overlimits: number } {
    const s = run('tc', ['-s', 'qdisc', 'show', 'dev', this.rootIf])
    const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(s)
    if (m == null) throw new Error(`no tbf counters on ${this.rootIf}: ${s}`)
    return { bytes: Number(m[1]), packets: Number(m[2]), dropped: Number(m[3]), overlimits: Number(m[4]) }
  }

  /**
   * Drop `percent` % of the packets in each direction, at random (nftables `numgen random`
   * in the namespace's input and output hooks), each drop counted.
   */
  loss (percent: number): void {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`loss must be a whole percentage, got ${percent}`)
    this.noLoss()
    const t = this.table
    this.exec('nft', ['add', 'table', 'inet', t])
    for (const [chain, hook] of [['in', 'input'], ['out', 'output']]) {
      this.exec('nft', ['add', 'chain', 'inet', t, chain, `{ type filter hook ${hook} priority 0 ; policy accept ; }`])
      // never the namespace's own loopback traffic (the HTTP client talks to the edge over it)
      this.exec('nft', ['add', 'rule', 'inet', t, chain, chain === 'in' ? 'iifname' : 'oifname', this.nsIf, 'numgen', 'random', 'mod', '100', '<', String(percent), 'counter', 'drop'])
    }
    this.lossOn = true
  }

  /** Packets dropped by {@link loss} so far, by direction (into / out of the namespace). */
  lossStats (): { in: number, out: number } {
    const count = (chain: string): number => Number(/counter packets (\d+)/.exec(this.exec('nft', ['list', 'chain', 'inet', this.table, chain]))?.[1] ?? NaN)
    return { in: count('in'), out: count('out') }
  }

  /** Remove the loss rules. */
  noLoss (): void {
    if (!this.lossOn) return
    try { this.exec('nft', ['delete', 'table', 'inet', this.table]) } catch {}
    this.lossOn = false
  }

  /**
   * Send the namespace's new TCP connections to `ip`:`port` to `ip`:`to[port]` instead
   * (nftables DNAT in the output hook; connections already open keep their path). Replaces
   * any earlier redirection; an empty map removes it.
   */
  redirect (ip: string, to: Record<number, number>): void {
    const t = `${this.table}_nat`
    try { this.exec('nft', ['delete', 'table', 'ip', t]) } catch {}
    const pairs = Object.entries(to)
    if (pairs.length === 0) return
    this.exec('nft', ['add', 'table', 'ip', t])
    this.exec('nft', ['add', 'chain', 'ip', t, 'out', '{ type nat hook output priority -100 ; }'])
    this.exec('nft', ['add', 'rule', 'ip', t, 'out', 'ip', 'daddr', ip, 'dnat', 'to', 'tcp', 'dport', 'map', `{ ${pairs.map(([a, b]) => `${a} : ${ip} . ${b}`).join(', ')} }`])
  }

  /** Set the root end of the link down (both ends lose carrier) or up again. */
  link (up: boolean): void {
    run('ip', ['link', 'set', this.rootIf, up ? 'up' : 'down'])
  }

  /** Remove the namespace and the veth pair (and with them every rule and qdisc). Never throws. */
  destroy (): void {
    try { run('ip', ['link', 'del', this.rootIf]) } catch {}
    try { run('ip', ['netns', 'del', this.ns]) } catch {}
  }

  /** Whether the namespace still exists. */
  exists (): boolean {
    return run('ip', ['netns', 'list']).split('\n').some(l => l.split(' ')[0] === this.ns)
  }
}

/**
 * A Toxiproxy server on 127.0.0.1 (its HTTP API, https://github.com/Shopify/toxiproxy#http-api):
 * TCP proxies that forward `listen` → `upstream`, and toxics on them.
 */
export class Toxiproxy {
  private constructor (readonly api: string, private readonly child: ChildProcess) {}

  /** Start `binary` on a free port and wait until its API answers (default 10 s). */
  static async start (binary: string, timeoutMs = 10_000): Promise<Toxiproxy> {
    const port = await freePort()
    const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], { stdio: 'ignore' })
    const t = new Toxiproxy(`http://127.0.0.1:${port}`, child)
    try {
      await until(async () => {
        if (child.exitCode != null) throw new Error(`toxiproxy-server exited (${child.exitCode})`)
        try {
          return (await fetch(`${t.api}/version`, { signal: AbortSignal.timeout(1000) })).ok
        } catch {
          return false
        }
      }, timeoutMs, 'toxiproxy-server to answer')
    } catch (err) {
      await t.stop()
      throw err
    }
    return t
  }

  private async call (method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.api}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body == null ? undefined : JSON.stringify(body) })
    const text = await res.text()
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }

  /** A proxy `name` listening on `listen` (host:port) and forwarding to `upstream` (host:port). */
  async proxy (name: string, listen: string, upstream: string): Promise<void> {
    await this.call('POST', '/proxies', { name, listen, upstream, enabled: true })
  }

  /**
   * Delay every piece of data through proxy `proxy` by `latency` ± `jitter` ms (uniform), in
   * both directions: toxics `<proxy>-downstream` and `<proxy>-upstream` (the `latency` toxic).
   * There is no removal here on purpose: deleting a toxic while connections pass can hang the
   * API (Shopify/toxiproxy#558); stop sending connections through the proxy instead.
   */
  async latency (proxy: string, latency: number, jitter: number): Promise<void> {
    for (const stream of ['downstream', 'upstream']) {
      await this.call('POST', `/proxies/${proxy}/toxics`, { name: `${proxy}-${stream}`, type: 'latency', stream, toxicity: 1, attributes: { latency, jitter } })
    }
  }

  /** Stop the server (SIGTERM, SIGKILL after 5 s). Never throws. */
  async stop (): Promise<void> {
    const c = this.child
    if (c.exitCode != null || c.signalCode != null) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      c.once('exit', () => { clearTimeout(timer); resolve() })
      c.kill('SIGTERM')
    })
  }
}
