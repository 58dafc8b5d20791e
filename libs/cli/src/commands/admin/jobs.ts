import { create } from '@bufbuild/protobuf'
import { control } from '@codio/proto'
import { InvalidArgumentError, type Command } from 'commander'
import { JobFailedError } from '../../errors.js'
import { roleArg } from './args.js'
import type { AdminContext } from './context.js'
import type { Run } from './index.js'
import { bytes, record, table, time } from './table.js'

interface PreheatOptions { role?: string, peer?: string[], wait?: boolean }

/** How often `preheat --wait` asks for the job's state (ms). */
const POLL_MS = 500

/** `admin preheat | jobs`: fetch contents into nodes ahead of demand, as tracker jobs. */
export function registerJobs (admin: Command, run: Run): void {
  admin.command('preheat')
    .description('fetch contents into a set of nodes ahead of demand; prints the job at once (see `codio admin jobs`)')
    .argument('<cids...>', 'content IDs')
    .option('--role <role>', 'every node of this role: edge, relay or origin (default: edge)', roleArg)
    .option('--peer <ids...>', 'exactly these nodes (peer IDs) instead of a role')
    .option('--wait', 'wait until every node has finished; exit 1 if any failed')
    .action(run<PreheatOptions>('preheat', async (ctx, [cids], opts) => {
      if (opts.role != null && opts.peer != null) throw new InvalidArgumentError('--role and --peer are exclusive')
      const tracker = await ctx.control()
      let { job } = await tracker.createPreheatJob({ contentIds: cids, role: opts.peer == null ? opts.role ?? 'edge' : '', peerIds: opts.peer ?? [] })
      if (job == null) throw new InvalidArgumentError('the tracker answered without a job')
      if (opts.wait === true) {
        while (job.state !== control.JobState.SUCCEEDED && job.state !== control.JobState.FAILED) {
          await new Promise(resolve => setTimeout(resolve, POLL_MS))
          job = (await tracker.getJob({ id: job.id })).job ?? job
        }
      }
      const done = job
      ctx.print(control.CreatePreheatJobResponseSchema, create(control.CreatePreheatJobResponseSchema, { job: done }), () => showJob(ctx, done))
      if (done.state === control.JobState.FAILED) throw new JobFailedError(`job ${done.id} failed on ${done.nodes.filter(n => n.state === control.JobState.FAILED).length} node(s)`)
    }))

  admin.command('jobs')
    .description('preheat jobs at the tracker, newest first, or one job with its progress per node')
    .argument('[id]', 'a job ID')
    .option('--limit <n>', 'at most this many (default 50)', limitArg)
    .action(run<{ limit?: number }>('jobs', async (ctx, [id], opts) => {
      const tracker = await ctx.control()
      if (id != null) {
        const res = await tracker.getJob({ id })
        ctx.print(control.GetJobResponseSchema, res, () => { if (res.job != null) showJob(ctx, res.job) })
        return
      }
      const res = await tracker.listJobs({ limit: opts.limit ?? 0 })
      ctx.print(control.ListJobsResponseSchema, res, () => ctx.line(res.jobs.length === 0 ? 'no jobs'
        : table(['id', 'type', 'state', 'contents', 'target', 'nodes done', 'created'], res.jobs.map(j => [
          j.id, j.type, state(j.state), j.contentIds.length, target(j),
          `${j.nodes.filter(n => n.state === control.JobState.SUCCEEDED).length}/${j.nodes.length}`, time(j.createdMs)
        ]))))
    }))
}

function limitArg (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000')
  return n
}

/** `JOB_STATE_RUNNING` as `running`. */
const state = (s: control.JobState): string => (control.JobState[s] ?? String(s)).toLowerCase()

const target = (j: control.Job): string => j.peerIds.length > 0 ? `${j.peerIds.length} peer${j.peerIds.length === 1 ? '' : 's'}` : `every ${j.role}`

function showJob (ctx: AdminContext, j: control.Job): void {
  ctx.line(record([['job', j.id], ['type', j.type], ['state', state(j.state)], ['target', target(j)], ['created', time(j.createdMs)],
    ...j.contentIds.map((c, i): [string, string] => [i === 0 ? 'contents' : '', c])]))
  if (j.nodes.length === 0) { ctx.line('no node has reported yet'); return }
  ctx.line('')
  ctx.line(table(['peer', 'state', 'contents', 'bytes', 'updated', 'error'], j.nodes.map(n => [
    n.peerId, state(n.state), `${n.contentsDone}/${n.contentsTotal}`, bytes(n.bytesDone), time(n.updatedMs), n.error
  ])))
}
