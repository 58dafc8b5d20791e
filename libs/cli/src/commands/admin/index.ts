import { InvalidArgumentError, type Command } from 'commander'
import { AdminContext, type AdminGlobalOptions } from './context.js'
import { registerNode } from './node.js'
import { registerConfig } from './config.js'
import { registerPurge } from './purge.js'
import { registerBans } from './bans.js'
import { registerKeys } from './keys.js'
import { registerJobs } from './jobs.js'

/** bin.ts's wrapper: any failure is one line `codio <name>: <message>` on stderr and exit 1. */
export type Action = <A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) => (...args: A) => Promise<void>

/**
 * The body of one `codio admin` subcommand: its context, its positional arguments (a variadic
 * one as an array) and its own options. An InvalidArgumentError it throws is a usage error (exit 2).
 */
export type Body<O> = (ctx: AdminContext, args: any[], opts: O) => Promise<void>

/** Wraps a body as a commander action named `admin <name>`. */
export type Run = <O>(name: string, body: Body<O>) => (...args: any[]) => Promise<void>

/**
 * Add `codio admin ...` to `program`: node calls (`codio.admin.v1.AdminService` at `--admin`)
 * and fleet calls (`codio.tracker.v1.ControlService` at `--tracker`). Usage errors exit 2,
 * failed calls print `codio admin <cmd>: <code>: <message>` and exit 1.
 */
export function registerAdmin (program: Command, action: Action): Command {
  const admin = program.command('admin')
    .description('operate Codio nodes and the fleet over their ConnectRPC admin APIs')
    .option('--admin <url>', 'a node\'s admin URL, or a process name from .codio/cluster.json (default: $CODIO_ADMIN, else the first edge in .codio/cluster.json)')
    .option('--tracker <url>', 'the tracker\'s ConnectRPC URL, for --cluster, preheat and jobs (default: $CODIO_TRACKER, else the tracker in .codio/cluster.json)')
    .option('--token-file <file>', 'file holding the bearer token sent with every call (default: $CODIO_TOKEN_FILE)')
    .option('--json', 'print the response message as protobuf JSON')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride(err => process.exit(err.exitCode === 0 ? 0 : 2))

  const run: Run = <O>(name: string, body: Body<O>) => action(`admin ${name}`, async (...args: any[]) => {
    const cmd = args[args.length - 1] as Command
    const ctx = new AdminContext(cmd.optsWithGlobals<AdminGlobalOptions>())
    try {
      await body(ctx, args.slice(0, -2), cmd.opts() as O)
    } catch (err) {
      if (err instanceof InvalidArgumentError) cmd.error(`codio admin ${name}: ${err.message}`, { exitCode: 2 })
      throw ctx.explain(err)
    }
  })

  registerNode(admin, run)
  registerConfig(admin, run)
  registerPurge(admin, run)
  registerBans(admin, run)
  registerKeys(admin, run)
  registerJobs(admin, run)
  return admin
}
