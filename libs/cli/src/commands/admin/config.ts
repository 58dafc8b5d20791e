import { create, type JsonObject, type JsonValue } from '@bufbuild/protobuf'
import { control, GetConfigResponseSchema, UpdateConfigResponseSchema } from '@codio/proto'
import { InvalidArgumentError, type Command } from 'commander'
import { flatten, parseConfigAssignments, roleArg, showValue } from './args.js'
import type { AdminContext } from './context.js'
import type { Run } from './index.js'
import { table, time } from './table.js'

interface ScopeOptions { cluster?: boolean, role?: string }

/** `admin config get | set`: a node's effective configuration, or a role's cluster document. */
export function registerConfig (admin: Command, run: Run): void {
  const config = admin.command('config').description('read and change configuration, live (TOML paths such as swarm.maxUploadRate)')

  config.command('get')
    .description('the effective configuration: each setting\'s value, where it came from, and whether it changes live')
    .argument('[key]', 'one setting or section (a TOML path)')
    .option('--cluster', 'the role\'s cluster document at the tracker instead')
    .option('--role <role>', 'with --cluster: edge, relay or origin', roleArg)
    .action(run<ScopeOptions>('config get', async (ctx, [key], opts) => {
      const role = clusterRole(opts)
      if (role != null) await getCluster(ctx, role, key)
      else await getNode(ctx, key)
    }))

  config.command('set')
    .description('change settings in ONE atomic update: KEY=VALUE (VALUE is JSON if it parses, else a string: 10MB, 30s); KEY= drops the runtime value')
    .argument('<assignments...>', 'KEY=VALUE pairs')
    .option('--cluster', 'change the role\'s cluster document at the tracker (every node of the role applies it)')
    .option('--role <role>', 'with --cluster: edge, relay or origin', roleArg)
    .option('--expected-version <n>', 'with --cluster: refuse (aborted) unless the document is at this version', versionArg)
    .action(run<ScopeOptions & { expectedVersion?: bigint }>('config set', async (ctx, [pairs], opts) => {
      const role = clusterRole(opts)
      const update = parseConfigAssignments(pairs as string[])
      if (role == null) {
        if (opts.expectedVersion != null) throw new InvalidArgumentError('--expected-version needs --cluster')
        const res = await (await ctx.node()).updateConfig(update)
        ctx.print(UpdateConfigResponseSchema, res, () => {
          if (res.changed.length === 0) { ctx.line('no effective value changed'); return }
          ctx.line(table(['changed', 'value'], res.changed.map(p => [p, showValue(at(res.config, p))])))
        })
        return
      }
      const res = await (await ctx.control()).updateClusterConfig({ role, ...update, expectedVersion: opts.expectedVersion ?? 0n })
      ctx.print(control.UpdateClusterConfigResponseSchema, res, () => showCluster(ctx, res.config))
    }))
}

/** The role of a `--cluster` call, `undefined` for a node call; usage error on half a pair. */
function clusterRole (opts: ScopeOptions): string | undefined {
  if (opts.cluster === true && opts.role == null) throw new InvalidArgumentError('--cluster needs --role edge|relay|origin')
  if (opts.cluster !== true && opts.role != null) throw new InvalidArgumentError('--role needs --cluster')
  return opts.role
}

function versionArg (value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a version number')
  return BigInt(value)
}

async function getNode (ctx: AdminContext, key: string | undefined): Promise<void> {
  const res = await (await ctx.node()).getConfig({})
  const doc = res.config ?? {}
  const sources = new Map(res.sources.map(s => [s.path, s]))
  // one row per setting the node reports, plus any leaf of the document it did not describe
  const paths = new Set(res.sources.map(s => s.path))
  for (const [path] of flatten(doc)) if (![...sources.keys()].some(p => path === p || path.startsWith(`${p}.`))) paths.add(path)
  const rows = [...paths].filter(p => key == null || within(p, key)).sort()
  if (key != null && rows.length === 0) throw new InvalidArgumentError(`no setting or section "${key}" in the node's configuration`)
  const picked = create(GetConfigResponseSchema, {
    config: key == null ? doc : prune(doc, key),
    sources: res.sources.filter(s => key == null || within(s.path, key))
  })
  ctx.print(GetConfigResponseSchema, picked, () => ctx.line(table(['path', 'value', 'source', 'live'], rows.map(p => {
    const s = sources.get(p)
    return [p, showValue(at(doc, p)), s?.source ?? '?', s == null ? '?' : s.live ? 'yes' : 'no']
  }))))
}

async function getCluster (ctx: AdminContext, role: string, key: string | undefined): Promise<void> {
  const res = await (await ctx.control()).getClusterConfig({ role })
  if (key != null && res.config?.config != null) res.config.config = prune(res.config.config, key)
  ctx.print(control.GetClusterConfigResponseSchema, res, () => showCluster(ctx, res.config))
}

function showCluster (ctx: AdminContext, c: control.ClusterConfig | undefined): void {
  if (c == null) { ctx.line('no cluster document'); return }
  ctx.line(`cluster configuration of ${c.role}: version ${c.version}, updated ${time(c.updatedMs)}`)
  const leaves = flatten(c.config ?? {})
  ctx.line(leaves.length === 0 ? '(empty)' : table(['path', 'value'], leaves.map(([p, v]) => [p, showValue(v)])))
}

const within = (path: string, key: string): boolean => path === key || path.startsWith(`${key}.`)

/** The value at a TOML path of a document. */
function at (doc: JsonObject | undefined, path: string): JsonValue | undefined {
  let node: JsonValue | undefined = doc
  for (const segment of path.split('.')) {
    if (node == null || typeof node !== 'object' || Array.isArray(node)) return undefined
    node = node[segment]
  }
  return node
}

/** The document with only the branch leading to `path`. */
function prune (doc: JsonObject, path: string): JsonObject {
  const value = at(doc, path)
  if (value === undefined) return {}
  const out: JsonObject = {}
  let node = out
  const segments = path.split('.')
  for (const segment of segments.slice(0, -1)) node = (node[segment] = {}) as JsonObject
  node[segments[segments.length - 1]] = value
  return out
}
