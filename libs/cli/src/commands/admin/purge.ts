import { control, PurgeResponseSchema } from '@codio/proto'
import type { Command } from 'commander'
import type { Run } from './index.js'
import { bytes } from './table.js'

/** `admin purge CID [--cluster]`: remove a content from one node, or from every node. */
export function registerPurge (admin: Command, run: Run): void {
  admin.command('purge')
    .description('remove a content: its bytes leave the store, its provider records are withdrawn, the tracker forgets it')
    .argument('<cid>', 'content ID')
    .option('--cluster', 'on every node, through the tracker')
    .action(run<{ cluster?: boolean }>('purge', async (ctx, [cid], opts) => {
      if (opts.cluster === true) {
        const res = await (await ctx.control()).purge({ contentId: cid })
        ctx.print(control.PurgeResponseSchema, res, () => ctx.line(`purge of ${cid} sent to every node (event ${res.eventId})`))
        return
      }
      const res = await (await ctx.node()).purge({ contentId: cid })
      ctx.print(PurgeResponseSchema, res, () => ctx.line(res.held
        ? `purged ${cid}: ${res.chunksRemoved} chunks removed, ${bytes(res.bytesFreed)} freed`
        : `${cid} was not held here: nothing to purge`))
    }))
}
