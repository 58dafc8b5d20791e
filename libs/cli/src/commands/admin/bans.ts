import { control, BanPeerResponseSchema, ListBansResponseSchema, UnbanPeerResponseSchema } from '@codio/proto'
import type { Command } from 'commander'
import { formatDuration } from '../../format.js'
import { durationArg } from './args.js'
import type { Run } from './index.js'
import { expires, table, time } from './table.js'

interface BanOptions { reason?: string, duration?: number, cluster?: boolean }

/** `admin ban | unban | bans`: refuse a peer on one node or fleet-wide. */
export function registerBans (admin: Command, run: Run): void {
  admin.command('ban')
    .description('refuse a peer: its connections are closed, new ones refused, it is never asked nor served')
    .argument('<peer>', 'peer ID')
    .option('--reason <text>', 'kept with the ban')
    .option('--duration <duration>', 'how long (e.g. 30m, 1h, 2d; default: until lifted)', durationArg)
    .option('--cluster', 'on every node and in the tracker\'s peer selection')
    .action(run<BanOptions>('ban', async (ctx, [peerId], opts) => {
      const req = { peerId, reason: opts.reason ?? '', durationSeconds: opts.duration ?? 0 }
      const until = req.durationSeconds === 0 ? 'until lifted' : `for ${formatDuration(req.durationSeconds)}`
      if (opts.cluster === true) {
        const res = await (await ctx.control()).banPeer(req)
        ctx.print(control.BanPeerResponseSchema, res, () => ctx.line(`banned ${peerId} on every node ${until}`))
        return
      }
      const res = await (await ctx.node()).banPeer(req)
      ctx.print(BanPeerResponseSchema, res, () => ctx.line(`banned ${peerId} ${until}; ${res.connectionsClosed} connection${res.connectionsClosed === 1 ? '' : 's'} closed`))
    }))

  admin.command('unban')
    .description('lift a ban (a node-local one, or with --cluster the fleet-wide one)')
    .argument('<peer>', 'peer ID')
    .option('--cluster', 'lift the fleet-wide ban at the tracker')
    .action(run<{ cluster?: boolean }>('unban', async (ctx, [peerId], opts) => {
      const res = opts.cluster === true
        ? await (await ctx.control()).unbanPeer({ peerId })
        : await (await ctx.node()).unbanPeer({ peerId })
      const schema = opts.cluster === true ? control.UnbanPeerResponseSchema : UnbanPeerResponseSchema
      ctx.print(schema, res, () => ctx.line(res.lifted ? `unbanned ${peerId}` : `${peerId} was not banned${opts.cluster === true ? ' fleet-wide' : ' on this node'}`))
    }))

  admin.command('bans')
    .description('bans in force: on the node (node-local and cluster-wide), or with --cluster at the tracker')
    .option('--cluster', 'the fleet-wide bans at the tracker')
    .action(run<{ cluster?: boolean }>('bans', async (ctx, _args, opts) => {
      const head = ['peer', 'scope', 'reason', 'since', 'expires']
      if (opts.cluster === true) {
        const res = await (await ctx.control()).listBans({})
        ctx.print(control.ListBansResponseSchema, res, () => ctx.line(res.bans.length === 0 ? 'no bans'
          : table(head, res.bans.map(b => [b.peerId, 'cluster', b.reason, time(b.createdMs), expires(b.expiresMs)]))))
        return
      }
      const res = await (await ctx.node()).listBans({})
      ctx.print(ListBansResponseSchema, res, () => ctx.line(res.bans.length === 0 ? 'no bans'
        : table(head, res.bans.map(b => [b.peerId, b.scope, b.reason, time(b.createdMs), expires(b.expiresMs)]))))
    }))
}
