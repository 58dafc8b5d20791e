import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { CodioPeer } from '@codio/peer'
import { generateKeyPair, type PublisherKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry, type Registry } from '@codio/telemetry'
import type { ControlSnapshot, PreheatProgress } from '@codio/tracker'
import { fleetHandlers } from '../src/fleet.js'
import { createFleetMetrics, type FleetMetrics } from '../src/fleet-metrics.js'
import { publish, startEdge, type TestEdge } from './helpers.js'

// The fleet metrics as Prometheus scrapes them (the registry's text), fed by the fleet handlers
// over a real peer and layered configuration.

/** The value of one sample in the registry's Prometheus text; undefined when absent. */
async function sample (registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find(l => l.startsWith(`${series} `))
  return line == null ? undefined : Number(line.slice(series.length + 1))
}

const snapshot = (version: number, config: ControlSnapshot['config']): ControlSnapshot => ({ config, version, bans: [], trustedKeys: [], revokedKeys: [] })

describe('fleet metrics', () => {
  let edge: TestEdge
  let peer: CodioPeer
  let registry: Registry
  let metrics: FleetMetrics
  let kp: PublisherKeyPair
  const log = createLogger({ name: 'fleet-metrics-test', level: 'silent', destination: '/dev/null' })
  let config: TestEdge['config']

  beforeAll(async () => {
    kp = await generateKeyPair()
    registry = createMetricsRegistry({ role: 'edge', processMetrics: false })
    edge = await startEdge({ prefix: 'codio-fleet-metrics-', trusted: [kp], log, registry })
    config = edge.config
    peer = edge.peer
    metrics = createFleetMetrics(registry)
  })

  afterAll(async () => {
    await edge?.stop()
  })

  it('reads the stream\'s state at each scrape: connected 0/1, connections counted once each', async () => {
    const stream = { connected: false, stats: { connects: 0 } }
    metrics.watch(stream)
    expect(await sample(registry, 'codio_control_stream_connected{role="edge"}')).toBe(0)
    expect(await sample(registry, 'codio_control_stream_connects_total{role="edge"}')).toBe(0)
    Object.assign(stream, { connected: true, stats: { connects: 1 } })
    expect(await sample(registry, 'codio_control_stream_connected{role="edge"}')).toBe(1)
    expect(await sample(registry, 'codio_control_stream_connects_total{role="edge"}')).toBe(1)
    // the tracker restarts: the stream breaks, then reopens
    Object.assign(stream, { connected: false })
    expect(await sample(registry, 'codio_control_stream_connected{role="edge"}')).toBe(0)
    Object.assign(stream, { connected: true, stats: { connects: 2 } })
    expect(await sample(registry, 'codio_control_stream_connects_total{role="edge"}')).toBe(2)
    expect(await sample(registry, 'codio_control_stream_connects_total{role="edge"}')).toBe(2)
  })

  it('starts every command kind and result at 0', async () => {
    for (const kind of ['purge', 'preheat']) {
      for (const result of ['ok', 'error']) expect(await sample(registry, `codio_control_commands_total{kind="${kind}",result="${result}",role="edge"}`)).toBe(0)
    }
  })

  it('records the version of the cluster document applied, not of one refused', async () => {
    const handlers = fleetHandlers(peer, config, log, metrics)
    await handlers.state(snapshot(3, { swarm: { maxUploadRate: '2MB' } }))
    expect(config.current.swarm.maxUploadRate).toBe(2_000_000)
    expect(await sample(registry, 'codio_cluster_config_version{role="edge"}')).toBe(3)
    await handlers.state(snapshot(4, { swarm: { maxUploadRate: 'plenty' } }))
    expect(config.current.swarm.maxUploadRate).toBe(2_000_000)
    expect(await sample(registry, 'codio_cluster_config_version{role="edge"}')).toBe(3)
  })

  it('counts purges and preheats by result', async () => {
    const handlers = fleetHandlers(peer, config, log, metrics)
    const held = await publish(peer, kp, 1500, 3)
    const reports: PreheatProgress[] = []
    await handlers.preheat('job-1', [held.toString()], async p => { reports.push(p) })
    expect(reports.at(-1)).toMatchObject({ state: 'succeeded', contentsDone: 1, bytesDone: 1500 })
    await handlers.preheat('job-2', [held.toString(), 'not-a-cid'], async p => { reports.push(p) })
    expect(reports.at(-1)).toMatchObject({ state: 'failed', contentsDone: 1 })
    await handlers.purge(held.toString())
    expect((await peer.store.listContents()).map(String)).not.toContain(held.toString())
    await expect(handlers.purge('not-a-cid')).rejects.toThrow()
    const count = async (kind: string, result: string): Promise<number | undefined> => await sample(registry, `codio_control_commands_total{kind="${kind}",result="${result}",role="edge"}`)
    expect([await count('preheat', 'ok'), await count('preheat', 'error'), await count('purge', 'ok'), await count('purge', 'error')]).toEqual([1, 1, 1, 1])
  })

  it('replaces the metrics of an earlier watcher on the same registry', async () => {
    const again = createFleetMetrics(registry)
    again.watch({ connected: true, stats: { connects: 5 } })
    expect(await sample(registry, 'codio_control_stream_connects_total{role="edge"}')).toBe(5)
    expect(await sample(registry, 'codio_control_commands_total{kind="purge",result="ok",role="edge"}')).toBe(0)
  })
})
