import { DrainResponseSchema, GetPeerStatsResponseSchema, GetStatusResponseSchema, ListContentResponseSchema } from '@codio/proto'
import type { Command } from 'commander'
import { formatDuration } from '../../format.js'
import { durationArg } from './args.js'
import type { Run } from './index.js'
import { bytes, rate, record, table } from './table.js'

/** `admin status | peers | content | drain`: one node's state, and taking it out of service. */
export function registerNode (admin: Command, run: Run): void {
  admin.command('status')
    .description('role, identity, addresses and counters of the node')
    .action(run('status', async ctx => {
      const s = await (await ctx.node()).getStatus({})
      ctx.print(GetStatusResponseSchema, s, () => ctx.line(record([
        ['role', s.role],
        ['peer', s.peerId],
        ['version', s.version],
        ['uptime', formatDuration(s.uptimeSeconds)],
        ['peers', s.connectedPeers],
        ['contents', s.contents],
        ['stored', `${bytes(s.storedBytes)} in ${s.storedBlocks} blocks`],
        ['fec', `${s.chunksRebuilt} chunks rebuilt from ${s.parityChunksFetched} parity chunks in ${s.fecGroupsRepaired} groups`],
        ...s.multiaddrs.map((a, i): [string, string] => [i === 0 ? 'addresses' : '', a])
      ])))
    }))

  admin.command('peers')
    .description('per-peer transfer statistics: bytes and chunks each way, rates, choke state')
    .action(run('peers', async ctx => {
      const res = await (await ctx.node()).getPeerStats({})
      ctx.print(GetPeerStatsResponseSchema, res, () => {
        if (res.peers.length === 0) { ctx.line('no peers'); return }
        ctx.line(table(['peer', 'received', 'sent', 'down', 'up', 'choked', 'interested', 'failures'], res.peers.map(p => [
          p.peerId,
          `${bytes(p.bytesReceived)} (${p.chunksReceived})`,
          `${bytes(p.bytesSent)} (${p.chunksSent})`,
          rate(p.downloadRate),
          rate(p.uploadRate),
          p.choked ? 'yes' : 'no',
          p.interested ? 'yes' : 'no',
          p.verificationFailures > 0n ? `${p.failures} (${p.verificationFailures} bad)` : p.failures
        ])))
      })
    }))

  admin.command('content')
    .description('the content IDs the node holds completely, one a line')
    .action(run('content', async ctx => {
      const res = await (await ctx.node()).listContent({})
      ctx.print(ListContentResponseSchema, res, () => { for (const cid of res.contentIds) ctx.line(cid) })
    }))

  admin.command('drain')
    .description('take the node out of service: readiness false, new requests refused, requests in flight served, then it exits 0')
    .option('--timeout <duration>', 'longest wait for requests in flight (e.g. 60s, 5m; default: the node\'s, 300s)', durationArg)
    .action(run<{ timeout?: number }>('drain', async (ctx, _args, opts) => {
      const res = await (await ctx.node()).drain({ timeoutSeconds: opts.timeout ?? 0 })
      ctx.print(DrainResponseSchema, res, () => {
        ctx.line(`draining: ${res.inFlight} request${res.inFlight === 1 ? '' : 's'} in flight; the node exits once they are served (at most ${formatDuration(opts.timeout ?? 300)})`)
      })
    }))
}
