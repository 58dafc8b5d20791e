#!/usr/bin/env node
/**
 * The Codio Grafana dashboards, as code: `node deploy/grafana/dashboards.mjs` writes every
 * dashboard's JSON model (schemaVersion 42, the current one of @grafana/schema) into deploy/grafana/dashboards/ and the Helm chart's
 * copy (deploy/helm/codio/files/dashboards/). deploy/test/monitoring.test.ts checks that the
 * files are what this script writes, and runs every panel's query against a live Prometheus.
 *
 * Every query selects by `namespace`, `job` and `instance` (the scrape's labels; `namespace` is
 * absent outside Kubernetes, which `=~".*"` matches) and by `role` (the label every Codio
 * registry adds), so one query covers every process of a role.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Grafana's current dashboard schema version (`defaultDashboard.schemaVersion` of @grafana/schema 13). */
export const SCHEMA_VERSION = 42
const DS = { type: 'prometheus', uid: '${datasource}' }
/** The scrape selector every panel query carries. */
const S = 'namespace=~"$namespace", job=~"$job", instance=~"$instance"'
/** The same, narrowed to the roles picked in the `role` variable. */
const SR = `${S}, role=~"$role"`
const RI = '[$__rate_interval]'
/** The content route of the edge. */
const CONTENT = 'route="/content/:cid"'

function variable (name, label, query, allValue, extra = {}) {
  return { name, label, type: 'query', datasource: DS, query, hide: 0, includeAll: true, allValue, multi: true, options: [], refresh: 2, regex: '', skipUrlSync: false, sort: 1, ...extra }
}

/** Dashboard variables: data source, namespace, job, role (restricted to `roles`), instance. */
function templating (roles) {
  const roleRegex = roles == null ? '' : `/^(${roles.join('|')})$/`
  return {
    list: [
      { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '', skipUrlSync: false },
      variable('namespace', 'Namespace', 'label_values(up{job=~"codio-.+"}, namespace)', '.*'),
      variable('job', 'Job', 'label_values(up{job=~"codio-.+", namespace=~"$namespace"}, job)', 'codio-.+'),
      variable('role', 'Role', 'label_values(process_start_time_seconds{job=~"$job", namespace=~"$namespace"}, role)', roles == null ? '.+' : roles.join('|'), { regex: roleRegex }),
      variable('instance', 'Instance', 'label_values(up{job=~"$job", namespace=~"$namespace"}, instance)', '.+')
    ]
  }
}

const target = (expr, legendFormat, refId, instant = false) => ({ refId, datasource: DS, expr, legendFormat, range: !instant, instant })
const refIds = 'ABCDEFGHIJ'

/** A stat: one number (the last value of an instant query). */
function stat (title, description, expr, unit, { legend = '', thresholds = [['green', null]], w = 4 } = {}) {
  return {
    type: 'stat', title, description, datasource: DS, w, h: 4,
    targets: [target(expr, legend, 'A', true)],
    fieldConfig: { defaults: { unit, color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: thresholds.map(([color, value]) => ({ color, value })) } }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none', textMode: 'value_and_name', justifyMode: 'auto', orientation: 'auto' }
  }
}

/** A time series panel; `queries` are [expr, legend] pairs. */
function graph (title, description, unit, queries, { stack = false, w = 12, min } = {}) {
  return {
    type: 'timeseries', title, description, datasource: DS, w, h: 8,
    targets: queries.map(([expr, legend], i) => target(expr, legend, refIds[i])),
    fieldConfig: {
      defaults: {
        unit, ...(min != null ? { min } : {}),
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: stack ? 30 : 10, showPoints: 'never', stacking: { mode: stack ? 'normal' : 'none', group: 'A' } }
      },
      overrides: []
    },
    options: { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } }
  }
}

const row = (title) => ({ type: 'row', title, collapsed: false, datasource: DS, w: 24, h: 1, panels: [] })

/** `histogram_quantile(q, …)` over a histogram's buckets, summed by `by` plus `le`. */
const quantile = (q, metric, sel, by = '') => `histogram_quantile(${q}, sum by (le${by === '' ? '' : `, ${by}`}) (rate(${metric}_bucket{${sel}}${RI})))`
const rate = (metric, sel, by) => `sum by (${by}) (rate(${metric}{${sel}}${RI}))`

/** Lays panels out left to right, 24 columns wide, and numbers them. */
function layout (panels) {
  let x = 0
  let y = 0
  let rowHeight = 0
  return panels.map((p, i) => {
    if (x + p.w > 24) { x = 0; y += rowHeight; rowHeight = 0 }
    const { w, h, ...rest } = p
    const out = { id: i + 1, ...rest, gridPos: { h, w, x, y } }
    x += w
    rowHeight = Math.max(rowHeight, h)
    return out
  })
}

function dashboard (uid, title, description, roles, panels) {
  return {
    uid, title, description, tags: ['codio'], schemaVersion: SCHEMA_VERSION, version: 1, editable: true, graphTooltip: 1, refresh: '30s',
    time: { from: 'now-1h', to: 'now' }, timepicker: {}, timezone: 'browser', fiscalYearStartMonth: 0, liveNow: false,
    links: [{ title: 'Codio dashboards', type: 'dashboards', tags: ['codio'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link', tooltip: '', url: '', targetBlank: false }],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: templating(roles),
    panels: layout(panels)
  }
}

// Shared panels ----------------------------------------------------------------------------

const processPanels = () => [
  row('Processes'),
  graph('CPU per process', 'CPU seconds per second (1 = one core busy).', 'percentunit', [[`rate(process_cpu_seconds_total{${SR}}${RI})`, '{{role}} {{instance}}']], { w: 8 }),
  graph('Resident memory per process', 'Alert: CodioProcessMemoryHigh (2 GiB for 15 minutes).', 'bytes', [[`process_resident_memory_bytes{${SR}}`, '{{role}} {{instance}}']], { w: 8 }),
  graph('Event-loop lag p99', 'The 99th percentile delay of the Node.js event loop: above ~100 ms every request and chunk waits.', 's', [[`nodejs_eventloop_lag_p99_seconds{${SR}}`, '{{role}} {{instance}}']], { w: 8 })
]

const storePanels = () => [
  graph('Store used and available', 'Bytes of the blocks held, and what the file system under the store can still take. Alert: CodioStoreNearlyFull (under 10 % of the file system free).', 'bytes', [
    [`sum by (role, instance) (codio_store_used_bytes{${SR}})`, 'used {{role}} {{instance}}'],
    [`sum by (role, instance) (codio_store_available_bytes{${SR}})`, 'available {{role}} {{instance}}']
  ]),
  graph('Contents held', 'Contents held completely (and provided in the DHT), per node.', 'short', [[`sum by (role, instance) (codio_store_contents{${SR}})`, '{{role}} {{instance}}']])
]

// Overview ---------------------------------------------------------------------------------

const overview = dashboard('codio-overview', 'Codio overview',
  'First stop for a Codio operator: targets, delivery (requests, bytes, cache hits, P2P offload, time to first byte, errors), integrity (verification failures, FEC repairs), origin ingest, processes and the control plane. Per-role detail: the edge, origin & relay, swarm, DHT and tracker dashboards (links at the top).',
  null, [
    stat('Targets up', 'Fraction of each job\'s scrape targets that answer (up == 1). Alert: CodioTargetDown.', `sum by (job) (up{${S}}) / count by (job) (up{${S}})`, 'percentunit', { legend: '{{job}}', thresholds: [['red', null], ['green', 1]], w: 6 }),
    stat('Requests/s', 'GET/HEAD /content at the selected edges, last 5 minutes.', 'sum(job:codio_http_content_requests:rate5m{job=~"$job"})', 'reqps'),
    stat('Bytes/s served', 'Content bytes sent to HTTP clients by the selected edges, last 5 minutes.', 'sum(job:codio_content_sent_bytes:rate5m{job=~"$job"})', 'Bps'),
    stat('Cache hit ratio', 'Content requests answered from the edge\'s own store, last 5 minutes.', 'avg(job:codio_cache_hit:ratio_rate5m{job=~"$job"})', 'percentunit', { thresholds: [['orange', null], ['green', 0.5]] }),
    stat('P2P offload', 'Share of the bytes edges served that did not come from an origin (1 − origin egress to edges / bytes served), last 5 minutes.', 'min(job:codio_origin_offload:ratio_rate5m{job=~"$job"})', 'percentunit', { thresholds: [['orange', null], ['green', 0.5]], w: 6 }),
    stat('TTFB p50', 'Median time to first byte of content requests, last 5 minutes.', 'max(job:codio_http_time_to_first_byte_seconds:p50_rate5m{job=~"$job"})', 's', { thresholds: [['green', null], ['orange', 0.5], ['red', 2.5]] }),
    stat('TTFB p99', 'Alert: CodioEdgeTtfbP99High (above 2.5 s for 10 minutes).', 'max(job:codio_http_time_to_first_byte_seconds:p99_rate5m{job=~"$job"})', 's', { thresholds: [['green', null], ['orange', 1], ['red', 2.5]] }),
    stat('5xx ratio', 'Content requests that ended in a 5xx. Alert: CodioEdgeHigh5xxRatio (5 % for 10 minutes).', 'max(job:codio_http_content_requests_5xx:ratio_rate5m{job=~"$job"})', 'percentunit', { thresholds: [['green', null], ['orange', 0.01], ['red', 0.05]] }),
    stat('4xx/s', 'Content requests refused as the client\'s fault (bad content ID, unknown content, no satisfiable range).', `sum(rate(codio_http_requests_total{${S}, role="edge", ${CONTENT}, status=~"4.."}[5m])) or vector(0)`, 'reqps'),
    stat('Verification failures', 'Chunks from peers that did not hash to their CID, last hour, all nodes. Alert: CodioChunkVerificationFailures.', `sum(increase(codio_chunk_verification_failures_total{${S}}[1h]))`, 'short', { thresholds: [['green', null], ['red', 1]] }),
    stat('FEC repairs', 'FEC groups rebuilt from parity, last hour, all nodes.', `sum(increase(codio_fec_groups_repaired_total{${S}}[1h]))`, 'short', { thresholds: [['green', null], ['orange', 1]] }),
    row('Delivery'),
    graph('Content requests by status', 'GET/HEAD /content per second at the edges, by HTTP status.', 'reqps', [[rate('codio_http_requests_total', `${S}, role="edge", ${CONTENT}`, 'status'), '{{status}}']], { stack: true }),
    graph('Time to first byte', 'From a content request\'s arrival to its first body byte; the p99 split into cache hits and misses.', 's', [
      [quantile(0.5, 'codio_http_time_to_first_byte_seconds', S), 'p50'],
      [quantile(0.99, 'codio_http_time_to_first_byte_seconds', S), 'p99'],
      [quantile(0.99, 'codio_http_time_to_first_byte_seconds', S, 'cache'), 'p99 {{cache}}']
    ]),
    graph('Bytes served by source', 'Content bytes edges sent to clients, from their cache or fetched for the request; and where the fetched bytes came from (by the sending peer\'s role): bytes from origins are origin egress.', 'Bps', [
      [rate('codio_content_sent_bytes_total', S, 'source'), 'sent from {{source}}'],
      [rate('codio_swarm_received_bytes_total', `${S}, role="edge"`, 'peer_role'), 'fetched from {{peer_role}}']
    ]),
    graph('P2P offload and cache hit ratio', 'Per job: 1 − origin egress to edges / bytes edges served; content requests answered from the cache.', 'percentunit', [
      ['job:codio_origin_offload:ratio_rate5m{job=~"$job"}', 'offload {{job}}'],
      ['job:codio_cache_hit:ratio_rate5m{job=~"$job"}', 'cache hits {{job}}']
    ], { min: 0 }),
    row('Integrity and origin'),
    graph('Verification failures and FEC repair', 'Chunks refused for a wrong hash (a faulty or hostile peer), and the FEC repair that made up for missing chunks, per second, all roles.', 'short', [
      [rate('codio_chunk_verification_failures_total', S, 'role'), 'verification failures {{role}}'],
      [rate('codio_fec_chunks_rebuilt_total', S, 'role'), 'chunks rebuilt {{role}}'],
      [rate('codio_fec_groups_repaired_total', S, 'role'), 'groups repaired {{role}}']
    ], { w: 8 }),
    graph('Origin uploads', 'PUT /content accepted per second, and refusals by reason. Alert: CodioOriginIngestRejected.', 'reqps', [
      [`sum(rate(codio_ingest_duration_seconds_count{${S}}${RI}))`, 'accepted'],
      [rate('codio_ingest_rejected_total', S, 'reason'), 'refused: {{reason}}']
    ], { w: 8 }),
    graph('Origin ingest throughput', 'Content bytes accepted per second by origins.', 'Bps', [[rate('codio_ingest_bytes_total', S, 'instance'), '{{instance}}']], { w: 8 }),
    ...processPanels(),
    row('Control plane'),
    stat('Nodes on the control stream', 'Per role: nodes with an open ControlService.Watch stream to the tracker. Alert: CodioControlStreamDown.', `sum by (role) (codio_control_stream_connected{${S}}) / count by (role) (codio_control_stream_connected{${S}})`, 'percentunit', { legend: '{{role}}', thresholds: [['red', null], ['orange', 0.9], ['green', 1]], w: 6 }),
    graph('Cluster configuration version per role', 'Highest and lowest applied version of each role\'s cluster configuration; they differ while a change rolls out. Alert: CodioClusterConfigDiverged.', 'short', [
      [`max by (role) (codio_cluster_config_version{${S}})`, 'max {{role}}'],
      [`min by (role) (codio_cluster_config_version{${S}})`, 'min {{role}}']
    ], { w: 6 }),
    graph('Fleet commands carried out', 'Purges and preheats from the control stream, by role, kind and result.', 'short', [[`sum by (role, kind, result) (increase(codio_control_commands_total{${S}}${RI}))`, '{{role}} {{kind}} {{result}}']], { w: 6 }),
    graph('Auth failures', 'Requests refused for their credentials, by role, endpoint and reason. Alert: CodioAuthFailuresBurst.', 'reqps', [[rate('codio_auth_failures_total', S, 'role, endpoint, reason'), '{{role}} {{endpoint}} {{reason}}']], { w: 6 })
  ])

// Edge -------------------------------------------------------------------------------------

const E = `${S}, role="edge"`
const edge = dashboard('codio-edge', 'Codio edge', 'HTTP delivery at the edges: requests, latency, sizes, cache, failures, provider lookups and the store.', ['edge'], [
  stat('Requests/s', 'GET/HEAD /content, last 5 minutes.', `sum(rate(codio_http_requests_total{${E}, ${CONTENT}}[5m]))`, 'reqps'),
  stat('Cache hit ratio', 'Content requests answered from the store, last 5 minutes.', `sum(rate(codio_cache_requests_total{${E}, result="hit"}[5m])) / sum(rate(codio_cache_requests_total{${E}}[5m]))`, 'percentunit'),
  stat('Request duration p99', 'Whole content responses, last 5 minutes.', `histogram_quantile(0.99, sum by (le) (rate(codio_http_request_duration_seconds_bucket{${E}, ${CONTENT}}[5m])))`, 's'),
  stat('TTFB p99', 'Time to first byte of content requests, last 5 minutes.', `histogram_quantile(0.99, sum by (le) (rate(codio_http_time_to_first_byte_seconds_bucket{${E}}[5m])))`, 's'),
  stat('Failed requests', 'Content requests answered with an error, last hour.', `sum(increase(codio_content_request_failures_total{${E}}[1h]))`, 'short', { thresholds: [['green', null], ['orange', 1]] }),
  stat('Responses cut off', 'Content responses cut after their headers (the client sees a short body), last hour.', `sum(increase(codio_http_responses_broken_total{${E}}[1h])) or vector(0)`, 'short', { thresholds: [['green', null], ['red', 1]] }),
  graph('Requests by status and method', 'Content requests per second.', 'reqps', [[rate('codio_http_requests_total', `${E}, ${CONTENT}`, 'method, status'), '{{method}} {{status}}']], { stack: true }),
  graph('Request duration', 'From arrival to the last byte handed to the socket: a large download counts whole.', 's', [
    [quantile(0.5, 'codio_http_request_duration_seconds', `${E}, ${CONTENT}`), 'p50'],
    [quantile(0.9, 'codio_http_request_duration_seconds', `${E}, ${CONTENT}`), 'p90'],
    [quantile(0.99, 'codio_http_request_duration_seconds', `${E}, ${CONTENT}`), 'p99']
  ]),
  graph('Time to first byte by cache result', 'p50 and p99 for hits (the store) and misses (resolution and the first chunk from the swarm).', 's', [
    [quantile(0.5, 'codio_http_time_to_first_byte_seconds', E, 'cache'), 'p50 {{cache}}'],
    [quantile(0.99, 'codio_http_time_to_first_byte_seconds', E, 'cache'), 'p99 {{cache}}']
  ]),
  graph('Response size', 'Declared body sizes of content responses.', 'bytes', [
    [quantile(0.5, 'codio_http_response_size_bytes', `${E}, ${CONTENT}`), 'p50'],
    [quantile(0.99, 'codio_http_response_size_bytes', `${E}, ${CONTENT}`), 'p99']
  ]),
  graph('Bytes sent by source', 'Content bytes per second sent to clients from the cache and from the swarm, per edge.', 'Bps', [[rate('codio_content_sent_bytes_total', E, 'instance, source'), '{{instance}} {{source}}']], { stack: true }),
  graph('Cache hit ratio per edge', 'Content requests answered from the local store over all content requests.', 'percentunit', [[`${rate('codio_cache_requests_total', `${E}, result="hit"`, 'instance')} / ${rate('codio_cache_requests_total', E, 'instance')}`, '{{instance}}']], { min: 0 }),
  graph('Failed content requests by reason', 'ContentNotFoundError: no provider has it; ChunkUnavailableError / ManifestUnavailableError: providers could not deliver; a refused manifest (untrusted, bad signature, malformed); InvalidCidError: a bad request. Alert: CodioContentUnavailable.', 'reqps', [[rate('codio_content_request_failures_total', E, 'reason'), '{{reason}}']]),
  graph('Provider lookups at the tracker', 'SelectPeers asked by edges, by outcome, and their latency (p99).', 'reqps', [
    [rate('codio_tracker_lookups_total', E, 'result'), '{{result}}'],
    [quantile(0.99, 'codio_tracker_lookup_duration_seconds', E), 'p99 latency (s)']
  ]),
  ...storePanels(),
  ...processPanels()
])

// Origin and relay -------------------------------------------------------------------------

const peers = dashboard('codio-origin-relay', 'Codio origin & relay', 'Origins (ingest, seeding) and relays (mid-tier cache, DHT bootstrap): uploads, what they serve to the swarm and to whom, connections, limits and the store.', ['origin', 'relay'], [
  stat('Uploads/s', 'PUT /content accepted by origins, last 5 minutes.', `sum(rate(codio_ingest_duration_seconds_count{${S}}[5m]))`, 'reqps'),
  stat('Origin egress', 'Chunk bytes per second origins sent to peers, last 5 minutes.', `sum(rate(codio_swarm_sent_bytes_total{${S}, role="origin"}[5m]))`, 'Bps'),
  stat('Relay egress', 'Chunk bytes per second relays sent to peers, last 5 minutes.', `sum(rate(codio_swarm_sent_bytes_total{${S}, role="relay"}[5m]))`, 'Bps'),
  stat('Connected peers', 'Open libp2p connections, all selected nodes.', `sum(codio_connected_peers{${SR}})`, 'short'),
  graph('Ingest', 'Uploads accepted and refused per second, and their duration (receive, chunk, hash, FEC-code, sign, store).', 'reqps', [
    [`sum(rate(codio_ingest_duration_seconds_count{${S}}${RI}))`, 'accepted'],
    [rate('codio_ingest_rejected_total', S, 'reason'), 'refused: {{reason}}']
  ]),
  graph('Ingest duration', 'p50 and p99 of one upload.', 's', [
    [quantile(0.5, 'codio_ingest_duration_seconds', S), 'p50'],
    [quantile(0.99, 'codio_ingest_duration_seconds', S), 'p99']
  ]),
  graph('Chunk bytes served, by receiver', 'What each role serves to whom: origin → relay/edge is the egress the swarm should keep low.', 'Bps', [[rate('codio_swarm_sent_bytes_total', SR, 'role, peer_role'), '{{role}} → {{peer_role}}']], { stack: true }),
  graph('Chunk bytes fetched, by sender', 'Relays prefetching and caching, by the role they fetched from.', 'Bps', [[rate('codio_swarm_received_bytes_total', SR, 'role, peer_role'), '{{role}} ← {{peer_role}}']], { stack: true }),
  graph('HTTP requests', 'Requests per second to every route of the selected roles (health, metrics, ingest), by status.', 'reqps', [[rate('codio_http_requests_total', SR, 'role, route, status'), '{{role}} {{route}} {{status}}']]),
  graph('Peers refused by a limit', 'Per-peer limits ([limits]) that refused a peer, by reason.', 'short', [[rate('codio_exchange_refused_total', SR, 'role, reason'), '{{role}} {{reason}}']]),
  graph('Connections', 'Open libp2p connections per node, and libp2p\'s count by direction.', 'short', [
    [`sum by (role, instance) (codio_connected_peers{${SR}})`, '{{role}} {{instance}}'],
    [`sum by (role, direction) (libp2p_connection_manager_connections{${SR}})`, 'libp2p {{role}} {{direction}}']
  ]),
  graph('libp2p transfer by protocol', 'Bytes per second through libp2p streams by protocol and direction (libp2p\'s own metrics).', 'Bps', [[rate('libp2p_data_transfer_bytes_total', SR, 'role, protocol'), '{{role}} {{protocol}}']]),
  ...storePanels(),
  ...processPanels()
])

// Swarm ------------------------------------------------------------------------------------

const swarm = dashboard('codio-swarm', 'Codio swarm', 'The BitTorrent-style chunk exchange in every role: download and upload by peer role, choking, failures, verification, FEC repair and peer exchange.', ['origin', 'relay', 'edge'], [
  graph('Download by sender role', 'Verified chunk bytes per second fetched from peers, by the receiving role and the sender\'s role.', 'Bps', [[rate('codio_swarm_received_bytes_total', SR, 'role, peer_role'), '{{role}} ← {{peer_role}}']], { stack: true }),
  graph('Upload by receiver role', 'Chunk bytes per second served to peers.', 'Bps', [[rate('codio_swarm_sent_bytes_total', SR, 'role, peer_role'), '{{role}} → {{peer_role}}']], { stack: true }),
  graph('Chunks per second', 'Chunks fetched (data and parity) and served.', 'short', [
    [rate('codio_swarm_chunks_received_total', SR, 'role'), 'received {{role}}'],
    [rate('codio_swarm_chunks_sent_total', SR, 'role'), 'sent {{role}}']
  ]),
  graph('Choked and unchoked peers', 'Peers in swarm sessions, by whether this node chokes them (tit-for-tat, BEP 3).', 'short', [[`sum by (role, state) (codio_swarm_peers{${SR}})`, '{{role}} {{state}}']], { stack: true }),
  graph('Chunk fetch failures', 'Requests to peers that failed, by reason (timeout, refused, verification, or the transport error).', 'short', [[rate('codio_chunk_fetch_failures_total', SR, 'role, reason'), '{{role}} {{reason}}']]),
  graph('Verification failures', 'Chunks that did not hash to their CID: a faulty or hostile peer. Alert: CodioChunkVerificationFailures.', 'short', [[rate('codio_chunk_verification_failures_total', SR, 'role, instance'), '{{role}} {{instance}}']]),
  graph('FEC repair', 'Parity chunks fetched, data chunks rebuilt and groups repaired per second.', 'short', [
    [rate('codio_fec_parity_chunks_received_total', SR, 'role'), 'parity fetched {{role}}'],
    [rate('codio_fec_chunks_rebuilt_total', SR, 'role'), 'rebuilt {{role}}'],
    [rate('codio_fec_groups_repaired_total', SR, 'role'), 'groups {{role}}']
  ]),
  graph('Peer exchange', 'Peers named by peer exchange (BEP 11) and dialled, per second.', 'short', [[rate('codio_pex_peers_total', SR, 'role'), '{{role}}']])
])

// DHT --------------------------------------------------------------------------------------

const dht = dashboard('codio-dht', 'Codio DHT', 'The Kademlia DHT (/codio/kad/1.0.0, K = 20): routing table, provider records, query latency by operation, and kad-dht\'s own RPC counts.', ['origin', 'relay', 'edge'], [
  graph('Routing table size', 'Peers in each node\'s Kademlia routing table. Alerts: CodioNodeNoDhtPeers (0), CodioDhtRoutingTableSmall (1).', 'short', [[`codio_dht_routing_table_peers{${SR}}`, '{{role}} {{instance}}']]),
  graph('Provider records', 'Records held in each node\'s DHT store, and content IDs it announces.', 'short', [
    [`codio_dht_provider_records{${SR}}`, 'held {{role}} {{instance}}'],
    [`codio_dht_provided_contents{${SR}}`, 'announced {{role}} {{instance}}']
  ]),
  graph('Query latency by operation', 'p50 and p99 of DHT queries (provide, findProviders, findPeer, closestPeers).', 's', [
    [quantile(0.5, 'codio_dht_query_duration_seconds', SR, 'operation'), 'p50 {{operation}}'],
    [quantile(0.99, 'codio_dht_query_duration_seconds', SR, 'operation'), 'p99 {{operation}}']
  ]),
  graph('Queries by operation and result', 'DHT queries per second, by how they ended (ok, timeout, error).', 'short', [[`sum by (operation, result) (rate(codio_dht_query_duration_seconds_count{${SR}}${RI}))`, '{{operation}} {{result}}']]),
  graph('Queries in flight', 'DHT queries running now, per node.', 'short', [[`codio_dht_pending_queries{${SR}}`, '{{role}} {{instance}}']]),
  graph('Inbound DHT RPCs', 'DHT requests other peers sent to each role, by message type (kad-dht\'s own metrics).', 'short', [[`sum by (role, operation) (rate(libp2p_kad_dht_inbound_rpc_requests_total{${SR}}${RI}))`, '{{role}} {{operation}}']])
])

// Tracker ----------------------------------------------------------------------------------

const T = `${S}, role="tracker"`
const tracker = dashboard('codio-tracker', 'Codio tracker', 'The tracker: its backends (NATS, Redis), gossip intake, TrackerService latency, the lookups nodes make, and the control plane.', ['tracker'], [
  stat('NATS', 'Whether the tracker is connected to NATS. Alert: CodioTrackerBackendDown.', `min(codio_tracker_backend_up{${T}, backend="nats"})`, 'bool_yes_no', { thresholds: [['red', null], ['green', 1]], w: 6 }),
  stat('Redis', 'Whether the tracker is connected to Redis. Alert: CodioTrackerBackendDown.', `min(codio_tracker_backend_up{${T}, backend="redis"})`, 'bool_yes_no', { thresholds: [['red', null], ['green', 1]], w: 6 }),
  stat('SelectPeers p99', 'TrackerService.SelectPeers latency at the tracker, last 5 minutes.', `histogram_quantile(0.99, sum by (le) (rate(codio_tracker_rpc_duration_seconds_bucket{${T}, method="SelectPeers"}[5m])))`, 's', { w: 6 }),
  stat('Nodes on the control stream', 'Nodes with an open ControlService.Watch stream.', `sum(codio_control_stream_connected{${S}})`, 'short', { w: 6 }),
  graph('Gossip received, applied and dropped', 'Messages per second over NATS, by kind: received, applied to Redis, malformed, stale, unsigned or forged. Alerts: CodioTrackerGossipMalformed, CodioTrackerGossipUnauthenticated, CodioTrackerGossipApplyFailures.', 'short', [
    [rate('codio_tracker_gossip_received_total', T, 'kind'), 'received {{kind}}'],
    [rate('codio_tracker_gossip_applied_total', T, 'kind'), 'applied {{kind}}'],
    [rate('codio_tracker_gossip_malformed_total', T, 'kind'), 'malformed {{kind}}'],
    [rate('codio_tracker_gossip_stale_total', T, 'kind'), 'stale {{kind}}'],
    [rate('codio_tracker_gossip_unauthenticated_total', T, 'kind'), 'unauthenticated {{kind}}']
  ]),
  graph('TrackerService calls', 'Calls per second by method and result code.', 'reqps', [[rate('codio_tracker_rpc_requests_total', T, 'method, code'), '{{method}} {{code}}']]),
  graph('TrackerService latency', 'p50 and p99 by method.', 's', [
    [quantile(0.5, 'codio_tracker_rpc_duration_seconds', T, 'method'), 'p50 {{method}}'],
    [quantile(0.99, 'codio_tracker_rpc_duration_seconds', T, 'method'), 'p99 {{method}}']
  ]),
  graph('Lookups from nodes', 'SelectPeers as the nodes see it: outcome per second (peers, empty, unavailable, error) and p99 latency including the network.', 'short', [
    [rate('codio_tracker_lookups_total', S, 'role, result'), '{{role}} {{result}}'],
    [quantile(0.99, 'codio_tracker_lookup_duration_seconds', S, 'role'), 'p99 latency (s) {{role}}']
  ]),
  graph('Auth failures', 'Requests refused for their credentials at the tracker, by endpoint and reason.', 'reqps', [[rate('codio_auth_failures_total', T, 'endpoint, reason'), '{{endpoint}} {{reason}}']]),
  graph('Backends', 'NATS and Redis connection state over time.', 'short', [[`codio_tracker_backend_up{${T}}`, '{{instance}} {{backend}}']], { min: 0 })
])

/** Every dashboard, by file name. */
export const DASHBOARDS = {
  'codio-overview.json': overview,
  'codio-edge.json': edge,
  'codio-origin-relay.json': peers,
  'codio-swarm.json': swarm,
  'codio-dht.json': dht,
  'codio-tracker.json': tracker
}

export function render (d) {
  return `${JSON.stringify(d, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [join(here, 'dashboards'), join(here, '..', 'helm', 'codio', 'files', 'dashboards')]) {
    mkdirSync(dir, { recursive: true })
    for (const [file, d] of Object.entries(DASHBOARDS)) writeFileSync(join(dir, file), render(d))
  }
  console.log(`wrote ${Object.keys(DASHBOARDS).length} dashboards`)
}
