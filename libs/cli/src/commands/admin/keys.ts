import { control, ListKeysResponseSchema, RevokeKeyResponseSchema, TrustKeyResponseSchema } from '@codio/proto'
import type { Command } from 'commander'
import type { Run } from './index.js'
import { table } from './table.js'

/**
 * A base64url key begins with "-" once in 64, and commander takes such an argument for an
 * option (an unknown one: exit 2, nothing done). After "--" it is the key.
 */
const dashKey = (cmd: string): string => `(a key that begins with "-" goes after "--": codio admin ${cmd} [--cluster] -- <key>)`

/** `admin trust | revoke | keys`: the publisher keys whose manifests nodes accept. */
export function registerKeys (admin: Command, run: Run): void {
  admin.command('trust')
    .description('trust manifests signed by a publisher key')
    .argument('<key>', 'base64url Ed25519 public key (as `codio keygen` prints it; after "--" if it begins with "-")')
    .option('--cluster', 'on every node, through the tracker')
    .showHelpAfterError(dashKey('trust'))
    .action(run<{ cluster?: boolean }>('trust', async (ctx, [publicKey], opts) => {
      const res = opts.cluster === true
        ? await (await ctx.control()).trustKey({ publicKey })
        : await (await ctx.node()).trustKey({ publicKey })
      const schema = opts.cluster === true ? control.TrustKeyResponseSchema : TrustKeyResponseSchema
      ctx.print(schema, res, () => ctx.line(`trusted ${publicKey}${opts.cluster === true ? ' on every node' : ''}`))
    }))

  admin.command('revoke')
    .description('stop trusting a publisher key: its manifests are refused and content only it signed is purged')
    .argument('<key>', 'base64url Ed25519 public key (after "--" if it begins with "-")')
    .option('--cluster', 'on every node, through the tracker (within one gossip interval)')
    .showHelpAfterError(dashKey('revoke'))
    .action(run<{ cluster?: boolean }>('revoke', async (ctx, [publicKey], opts) => {
      if (opts.cluster === true) {
        const res = await (await ctx.control()).revokeKey({ publicKey })
        ctx.print(control.RevokeKeyResponseSchema, res, () => ctx.line(`revoked ${publicKey} on every node`))
        return
      }
      const res = await (await ctx.node()).revokeKey({ publicKey })
      ctx.print(RevokeKeyResponseSchema, res, () => {
        ctx.line(`revoked ${publicKey}; ${res.purgedContentIds.length} content${res.purgedContentIds.length === 1 ? '' : 's'} purged`)
        for (const cid of res.purgedContentIds) ctx.line(`  ${cid}`)
      })
    }))

  admin.command('keys')
    .description('publisher keys trusted or revoked: on the node (with where each came from), or with --cluster at the tracker')
    .option('--cluster', 'the fleet-wide keys at the tracker')
    .action(run<{ cluster?: boolean }>('keys', async (ctx, _args, opts) => {
      if (opts.cluster === true) {
        const res = await (await ctx.control()).listKeys({})
        const rows = [...res.trusted.map(k => [k, 'trusted']), ...res.revoked.map(k => [k, 'revoked'])]
        ctx.print(control.ListKeysResponseSchema, res, () => ctx.line(rows.length === 0 ? 'no keys' : table(['key', 'state'], rows)))
        return
      }
      const res = await (await ctx.node()).listKeys({})
      ctx.print(ListKeysResponseSchema, res, () => ctx.line(res.keys.length === 0 ? 'no keys'
        : table(['key', 'state', 'source'], res.keys.map(k => [k.publicKey, k.revoked ? 'revoked' : 'trusted', k.source]))))
    }))
}
