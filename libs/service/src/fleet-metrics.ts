import { Counter, Gauge, type Registry } from '@codio/telemetry'

/** A fleet command a node carries out. */
export type ControlCommandKind = 'purge' | 'preheat'
/** How it ended: `error` = the purge threw, or some content of the preheat could not be fetched. */
export type ControlCommandResult = 'ok' | 'error'

/** What the metrics read of the control stream at each scrape (a `ControlWatcher` is one). */
export interface ControlStreamSource {
  /** Whether a stream is open and has delivered its snapshot. */
  readonly connected: boolean
  /** Streams opened that delivered their first snapshot, since the watcher started. */
  readonly stats: { readonly connects: number }
}

/**
 * A node's metrics of the tracker's control stream (`ControlService.Watch`). Names carry no
 * role: the registry's default `role` label tells edges, relays and origins apart.
 *
 * - `codio_control_stream_connected` (gauge, 0/1): the stream is open and delivered its snapshot
 * - `codio_control_stream_connects_total` (counter): streams opened; past the first, reconnections
 * - `codio_cluster_config_version` (gauge): version of the role's cluster configuration applied
 *   (0 = none set by the tracker yet, or none applied)
 * - `codio_control_commands_total{kind,result}` (counter): purge/preheat commands carried out, ok/error
 */
export interface FleetMetrics {
  /** Read `source` at each scrape for the connection gauge and counter. */
  watch(source: ControlStreamSource): void
  /** A snapshot was applied: its configuration version is now in effect. */
  configApplied(version: number): void
  /** A command was carried out. */
  command(kind: ControlCommandKind, result: ControlCommandResult): void
}

export const CONTROL_STREAM_CONNECTED_METRIC = 'codio_control_stream_connected'
export const CONTROL_STREAM_CONNECTS_METRIC = 'codio_control_stream_connects_total'
export const CLUSTER_CONFIG_VERSION_METRIC = 'codio_cluster_config_version'
export const CONTROL_COMMANDS_METRIC = 'codio_control_commands_total'

const NAMES = [CONTROL_STREAM_CONNECTED_METRIC, CONTROL_STREAM_CONNECTS_METRIC, CLUSTER_CONFIG_VERSION_METRIC, CONTROL_COMMANDS_METRIC]

/**
 * Register the fleet metrics in `registry` (metrics of these names already there — a node's
 * earlier watcher — are replaced). Every kind/result pair of the commands counter starts at 0,
 * so a rate reads 0 rather than nothing before the first command.
 */
export function createFleetMetrics (registry: Registry): FleetMetrics {
  for (const name of NAMES) registry.removeSingleMetric(name)
  let source: ControlStreamSource | undefined
  let counted = 0
  const registers = [registry]
  // these two read their value from the source at each scrape
  new Gauge({
    name: CONTROL_STREAM_CONNECTED_METRIC,
    help: 'Whether the control stream to the tracker (ControlService.Watch) is open and delivered its snapshot (1) or not (0)',
    registers,
    collect () { this.set(source?.connected === true ? 1 : 0) }
  })
  new Counter({
    name: CONTROL_STREAM_CONNECTS_METRIC,
    help: 'Control streams to the tracker opened (first snapshot received); every one past the first is a reconnection',
    registers,
    collect () {
      const n = source?.stats.connects ?? 0
      if (n > counted) { this.inc(n - counted); counted = n }
    }
  })
  const version = new Gauge({ name: CLUSTER_CONFIG_VERSION_METRIC, help: 'Version of the role\'s cluster configuration (set through the tracker) this node applied; 0 = none', registers })
  const commands = new Counter({ name: CONTROL_COMMANDS_METRIC, help: 'Fleet commands from the control stream carried out, by kind (purge, preheat) and result (ok, error)', labelNames: ['kind', 'result'], registers })
  for (const kind of ['purge', 'preheat'] as const) for (const result of ['ok', 'error'] as const) commands.inc({ kind, result }, 0)
  return {
    watch (s) { source = s; counted = 0 },
    configApplied (v) { version.set(v) },
    command (kind, result) { commands.inc({ kind, result }) }
  }
}
