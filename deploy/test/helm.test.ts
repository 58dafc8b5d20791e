/**
 * The Helm chart deploy/helm/codio: lint, render with the default values and every
 * ci/*-values.yaml, validate what renders against the Kubernetes API schemas, and check that
 * each ConfigMap's TOML loads with the service's own config loader.
 *
 * Kubernetes schemas: kubernetes-models (Kubernetes 1.27.1, the chart's minimum; types and
 * required fields) and @kubernetes-models/prometheus-operator for ServiceMonitor and
 * PrometheusRule, always; PyPI's kubernetes-validate against 1.31.0 with --strict (unknown
 * fields rejected; `python3 -m pip install kubernetes-validate`, which .ci/run does).
 */
import { describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { createPrivateKey } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseTokens } from '@codio/auth'
import { loadConfig } from '@codio/config'
import { edgeConfigSchema } from '@codio/edge'
import { originConfigSchema } from '@codio/origin'
import { relayConfigSchema } from '@codio/relay'
import { trackerConfigSchema } from '@codio/tracker-service'
import { parse as parseToml } from 'smol-toml'
import { parseAllDocuments, parse as parseYaml } from 'yaml'

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..')
const chart = join(deploy, 'helm', 'codio')
const helm = execFileSync(process.execPath, [join(deploy, 'scripts', 'helm.mjs')], { encoding: 'utf8' }).trim()
const require = createRequire(import.meta.url)
const K8S_VERSION = '1.31.0'

type Obj = Record<string, any>

function run (args: string[]) {
  const r = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr }
}

function render (...args: string[]): Obj[] {
  const r = run(['template', 'codio', chart, '--namespace', 'default', ...args])
  if (!r.ok) throw new Error(`helm template ${args.join(' ')}: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map(d => d.toJS()).filter(Boolean)
}

const valueSets: Record<string, string[]> = {
  default: [],
  ...Object.fromEntries(readdirSync(join(chart, 'ci')).filter(f => f.endsWith('-values.yaml'))
    .map(f => [f.replace('-values.yaml', ''), ['-f', join(chart, 'ci', f)]]))
}

const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find(o => o.kind === kind && o.metadata.name === name)
  if (o === undefined) throw new Error(`no ${kind} ${name}`)
  return o
}
const podSpec = (o: Obj): Obj => o.kind === 'Pod' ? o.spec : o.spec.template.spec
const workloads = (objs: Obj[]) => objs.filter(o => ['Deployment', 'StatefulSet', 'Pod'].includes(o.kind))
const isTestHook = (o: Obj) => o.metadata.annotations?.['helm.sh/hook'] === 'test'
const toml = (objs: Obj[], role: string) => parseToml(find(objs, 'ConfigMap', `codio-${role}`).data['codio.toml']) as Obj

describe('helm chart deploy/helm/codio', () => {
  test('has the ci value sets the issue asks for', () => {
    expect(Object.keys(valueSets)).toEqual(expect.arrayContaining(['default', 'external', 'monitoring', 'scale']))
  })

  test.each(Object.entries(valueSets))('helm lint --strict passes with %s values', (_, args) => {
    const r = run(['lint', '--strict', chart, ...args])
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed')
    expect(r.ok).toBe(true)
  })

  test.each(Object.entries(valueSets))('%s values render objects valid for Kubernetes 1.27 (kubernetes-models)', async (_, args) => {
    for (const o of render(...args)) {
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
      const Model = group === 'monitoring.coreos.com'
        ? (await import(`@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`))[o.kind]
        : require(`kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${o.kind}`)[o.kind]
      expect(() => new Model(o).validate()).not.toThrow()
    }
  })

  test.each(Object.entries(valueSets))(
    `%s values validate with kubernetes-validate -k ${K8S_VERSION} --strict`, (name, args) => {
      if (spawnSync('kubernetes-validate', ['--version']).status !== 0) {
        throw new Error('kubernetes-validate is not installed: `python3 -m pip install kubernetes-validate` (.ci/run does)')
      }
      const dir = mkdtempSync(join(tmpdir(), 'codio-helm-'))
      try {
        const file = join(dir, `${name}.yaml`)
        writeFileSync(file, run(['template', 'codio', chart, ...args]).stdout)
        const r = spawnSync('kubernetes-validate', ['-k', K8S_VERSION, '--strict', '--quiet', file], { encoding: 'utf8' })
        expect(r.stdout.split('\n').filter(l => l.startsWith('ERROR'))).toEqual([])
        expect(r.status).toBe(0)
      } finally { rmSync(dir, { recursive: true, force: true }) }
    })

  test('default values render the expected kinds and counts', () => {
    const objs = render()
    const count: Record<string, number> = {}
    for (const o of objs) count[o.kind] = (count[o.kind] ?? 0) + 1
    expect(count).toEqual({
      ConfigMap: 5, // edge, relay, origin, tracker + NATS's
      Deployment: 2,
      HorizontalPodAutoscaler: 1,
      Pod: 1, // the helm test hook
      PodDisruptionBudget: 3, // edge, relay, NATS
      Secret: 3, // relay peer keys, publisher key, bearer tokens
      Service: 8, // edge, relay (headless), origin + headless, tracker, redis, nats + headless
      ServiceAccount: 1,
      StatefulSet: 4 // relay, origin, redis, nats
    })
    const names = (kind: string) => objs.filter(o => o.kind === kind).map(o => o.metadata.name).sort()
    expect(names('Deployment')).toEqual(['codio-edge', 'codio-tracker'])
    expect(names('StatefulSet')).toEqual(['codio-nats', 'codio-origin', 'codio-redis', 'codio-relay'])
    expect(find(objs, 'HorizontalPodAutoscaler', 'codio-edge')).toMatchObject({
      apiVersion: 'autoscaling/v2', spec: { scaleTargetRef: { kind: 'Deployment', name: 'codio-edge' } }
    })
    expect(find(objs, 'PodDisruptionBudget', 'codio-edge').spec.selector.matchLabels['app.kubernetes.io/component']).toBe('edge')
    const relay = find(objs, 'StatefulSet', 'codio-relay')
    expect(relay.spec.serviceName).toBe('codio-relay')
    expect(find(objs, 'Service', 'codio-relay').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true })
    const origin = find(objs, 'StatefulSet', 'codio-origin')
    expect(origin.spec.volumeClaimTemplates[0].metadata.name).toBe('data')
    expect(origin.spec.template.spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: 'data', mountPath: '/var/lib/codio' }))
    expect(find(objs, 'Service', 'codio-origin').spec.ports.map((p: Obj) => p.port)).toEqual([7070, 7071])
    expect(find(objs, 'Service', 'codio-tracker').spec.ports.map((p: Obj) => p.port)).toEqual([7090, 7091])
  })

  test.each(Object.entries(valueSets))('%s values: every container is limited, probed and hardened', (_, args) => {
    for (const w of workloads(render(...args))) {
      const spec = podSpec(w)
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } })
      for (const c of [...spec.initContainers ?? [], ...spec.containers]) {
        const where = `${w.kind} ${w.metadata.name} container ${c.name}`
        expect([where, c.resources?.requests && c.resources?.limits !== undefined]).toEqual([where, true])
        if (!isTestHook(w)) expect([where, Boolean(c.livenessProbe && c.readinessProbe)]).toEqual([where, true])
        expect([where, c.securityContext]).toMatchObject([where, {
          allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }
        }])
      }
      if (w.metadata.labels['app.kubernetes.io/part-of'] === 'codio' && !isTestHook(w) && w.metadata.name !== 'codio-redis') {
        const c = spec.containers[0]
        expect(c.livenessProbe.httpGet.path).toBe('/healthz')
        expect(c.readinessProbe.httpGet.path).toBe('/readyz')
        expect(c.args).toEqual(['--config', '/etc/codio/config/codio.toml'])
        expect(w.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/)
      }
    }
  })

  test('values.schema.json rejects a wrong type and unknown keys', () => {
    for (const args of [['--set', 'edge.replicas=notanumber'], ['--set', 'edge.bogus=1'], ['--set', 'bogus=1'], ['--set', 'metrics.dashboards.enable=true']]) {
      const r = run(['template', 'codio', chart, ...args])
      expect([args, r.ok]).toEqual([args, false])
      expect(r.stderr).toMatch(/schema/)
    }
    expect(run(['template', 'codio', chart, '--set', 'nats.enabled=false']).stderr).toMatch(/externalNats.url is required/)
    expect(run(['template', 'codio', chart, '--set', 'publisher.publicKey=11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo']).stderr).toMatch(/needs publisher.existingSecret/)
  })

  test('a config change changes checksum/config of that role only', () => {
    const checksum = (objs: Obj[], kind: string, name: string) => find(objs, kind, name).spec.template.metadata.annotations['checksum/config']
    const before = render()
    const after = render('--set', 'edge.config.logLevel=debug')
    expect(toml(after, 'edge').logLevel).toBe('debug')
    expect(checksum(after, 'Deployment', 'codio-edge')).not.toBe(checksum(before, 'Deployment', 'codio-edge'))
    expect(checksum(after, 'StatefulSet', 'codio-relay')).toBe(checksum(before, 'StatefulSet', 'codio-relay'))
    expect(checksum(render('--set', 'relay.replicas=3'), 'Deployment', 'codio-edge')).not.toBe(checksum(before, 'Deployment', 'codio-edge'))
  })

  test('edges, relays and the origin bootstrap to every relay by its stable DNS name', () => {
    const addr = (i: number) => `/dns4/codio-relay-${i}.codio-relay.default.svc.cluster.local/tcp/4001`
    const scale = render(...valueSets.scale)
    for (const role of ['edge', 'relay', 'origin']) expect(toml(scale, role).p2p.bootstrap).toEqual([0, 1, 2, 3, 4].map(addr))
    const external = render(...valueSets.external)
    const ids = (parseYaml(readFileSync(join(chart, 'ci', 'external-values.yaml'), 'utf8')) as Obj).relay.peerKeys.peerIds
    expect(toml(external, 'edge').p2p.bootstrap).toEqual(ids.map((id: string, i: number) => `${addr(i)}/p2p/${id}`))
  })

  test('each relay takes its own generated Ed25519 key by pod name', () => {
    const objs = render('--set', 'relay.replicas=3')
    const keys = find(objs, 'Secret', 'codio-relay-keys').data
    expect(Object.keys(keys).sort()).toEqual(['relay-0.pem', 'relay-1.pem', 'relay-2.pem'])
    for (const pem of Object.values(keys) as string[]) {
      expect(createPrivateKey(Buffer.from(pem, 'base64').toString()).asymmetricKeyType).toBe('ed25519')
    }
    const spec = podSpec(find(objs, 'StatefulSet', 'codio-relay'))
    expect(spec.containers[0].env).toContainEqual({ name: 'CODIO_P2P__KEY_FILE', value: '/etc/codio/peer-keys/$(POD_NAME).pem' })
    expect(spec.containers[0].env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } })
    expect(spec.volumes.find((v: Obj) => v.name === 'peer-keys').secret).toMatchObject({
      secretName: 'codio-relay-keys',
      items: [0, 1, 2].map(i => ({ key: `relay-${i}.pem`, path: `codio-relay-${i}.pem` }))
    })
  })

  test('publisher key: generated and trusted by file by default; only the origin holds an existing one', () => {
    const mounts = (objs: Obj[], kind: string, name: string) => podSpec(find(objs, kind, name)).volumes
      .filter((v: Obj) => v.secret !== undefined && v.name === 'publisher-key').map((v: Obj) => v.secret.secretName)
    const dflt = render()
    const pem = Buffer.from(find(dflt, 'Secret', 'codio-publisher').data['publisher.pem'], 'base64').toString()
    expect(createPrivateKey(pem).asymmetricKeyType).toBe('ed25519')
    expect(toml(dflt, 'origin').publisher.keyFile).toBe('/etc/codio/publisher/publisher.pem')
    for (const [kind, name] of [['Deployment', 'codio-edge'], ['StatefulSet', 'codio-relay'], ['StatefulSet', 'codio-origin']]) {
      expect(mounts(dflt, kind, name)).toEqual(['codio-publisher'])
    }
    expect(toml(dflt, 'edge').trust.publisherKeys).toEqual(['/etc/codio/publisher/publisher.pem'])

    const ext = render(...valueSets.external)
    expect(ext.filter(o => o.kind === 'Secret')).toEqual([])
    expect(mounts(ext, 'StatefulSet', 'codio-origin')).toEqual(['codio-publisher-key'])
    expect(mounts(ext, 'Deployment', 'codio-edge')).toEqual([])
    expect(mounts(ext, 'StatefulSet', 'codio-relay')).toEqual([])
    expect(toml(ext, 'origin').publisher.keyFile).toBe('/etc/codio/publisher/publisher.jwk')
    for (const role of ['edge', 'relay']) expect(toml(ext, role).trust.publisherKeys).toEqual(['11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'])
  })

  test('bearer tokens: generated once into a Secret, each pod mounting only the keys it needs, named in its [auth] table', () => {
    const dflt = render()
    const tokens = find(dflt, 'Secret', 'codio-auth').data
    expect(Object.keys(tokens).sort()).toEqual(['admin', 'node', 'publish', 'read'])
    const values = Object.values(tokens).map(v => Buffer.from(v as string, 'base64').toString())
    for (const t of values) expect(parseTokens(t, 'secret')).toEqual([t]) // what the processes accept: 43 characters
    expect(new Set(values).size).toBe(4)
    const keysOf = (objs: Obj[], kind: string, name: string) => {
      const spec = podSpec(find(objs, kind, name))
      const v = spec.volumes.find((v: Obj) => v.name === 'tokens').secret
      expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'tokens', mountPath: '/etc/codio/tokens', readOnly: true })
      return { secret: v.secretName, keys: v.items.map((i: Obj) => i.key) }
    }
    expect(keysOf(dflt, 'Deployment', 'codio-edge')).toEqual({ secret: 'codio-auth', keys: ['read', 'admin', 'node'] })
    expect(keysOf(dflt, 'StatefulSet', 'codio-relay')).toEqual({ secret: 'codio-auth', keys: ['read', 'admin', 'node'] })
    expect(keysOf(dflt, 'StatefulSet', 'codio-origin')).toEqual({ secret: 'codio-auth', keys: ['read', 'admin', 'publish', 'node'] })
    expect(keysOf(dflt, 'Deployment', 'codio-tracker')).toEqual({ secret: 'codio-auth', keys: ['read', 'admin', 'node'] })
    expect(keysOf(dflt, 'Pod', 'codio-test-publish-fetch')).toEqual({ secret: 'codio-auth', keys: ['publish'] })
    const files = (k: string) => [`/etc/codio/tokens/${k}`]
    expect(toml(dflt, 'edge').auth).toEqual({ readTokenFiles: files('read'), adminTokenFiles: files('admin'), required: 'auto' })
    expect(toml(dflt, 'origin').auth).toEqual({ readTokenFiles: files('read'), adminTokenFiles: files('admin'), publishTokenFiles: files('publish'), required: 'auto' })
    expect(toml(dflt, 'tracker').auth).toEqual({ readTokenFiles: files('read'), adminTokenFiles: files('admin'), nodeTokenFiles: files('node'), required: 'auto' })
    for (const role of ['edge', 'relay', 'origin']) expect(toml(dflt, role).tracker.tokenFile).toBe('/etc/codio/tokens/node')

    const ext = render(...valueSets.external)
    expect(keysOf(ext, 'StatefulSet', 'codio-origin').secret).toBe('codio-tokens')
    expect(toml(render('--set', 'auth.required=never'), 'edge').auth.required).toBe('never')
    expect(run(['template', 'codio', chart, '--set', 'auth.required=sometimes']).stderr).toMatch(/schema/)
  })

  test('external NATS and Redis replace the bundled ones', () => {
    const ext = render(...valueSets.external)
    expect(ext.filter(o => /nats|redis/.test(o.metadata.name))).toEqual([])
    expect(toml(ext, 'tracker')).toMatchObject({
      nats: { servers: ['nats://nats.messaging.svc.cluster.local:4222'] },
      redis: { url: 'redis://redis-master.cache.svc.cluster.local:6379/0' }
    })
    expect(toml(ext, 'edge').tracker).toEqual({ url: 'http://codio-tracker.default.svc.cluster.local:7091', nats: ['nats://nats.messaging.svc.cluster.local:4222'], tokenFile: '/etc/codio/tokens/node' })
    const dflt = render()
    expect(toml(dflt, 'tracker')).toMatchObject({ nats: { servers: ['nats://codio-nats.default.svc.cluster.local:4222'] }, redis: { url: 'redis://codio-redis.default.svc.cluster.local:6379' } })
    expect(find(dflt, 'Service', 'codio-nats').spec.ports).toContainEqual(expect.objectContaining({ port: 4222 }))
    expect(find(dflt, 'ConfigMap', 'codio-nats-config').data['nats.conf']).toMatch(/jetstream/)
  })

  describe('the TOML of every ConfigMap loads with the service\'s own loader', () => {
    const schemas: Record<string, any> = { edge: edgeConfigSchema, relay: relayConfigSchema, origin: originConfigSchema, tracker: trackerConfigSchema }
    const workloadOf: Record<string, string> = { edge: 'Deployment', relay: 'StatefulSet', origin: 'StatefulSet', tracker: 'Deployment' }
    test.each(Object.entries(valueSets))('%s values', (_, args) => {
      const objs = render(...args)
      const dir = mkdtempSync(join(tmpdir(), 'codio-helm-'))
      try {
        for (const role of Object.keys(schemas)) {
          const file = join(dir, `${role}.toml`)
          writeFileSync(file, find(objs, 'ConfigMap', `codio-${role}`).data['codio.toml'])
          // The CODIO_* environment the pod sets, $(POD_NAME) expanded as the kubelet does.
          const env: Record<string, string> = {}
          for (const e of podSpec(find(objs, workloadOf[role], `codio-${role}`)).containers[0].env) {
            if (e.name.startsWith('CODIO_') && e.value !== undefined) env[e.name] = e.value.replace('$(POD_NAME)', `codio-${role}-0`)
          }
          const config: Obj = loadConfig({ schema: schemas[role], file, env })
          if (role === 'tracker') {
            expect(config).toMatchObject({ http: { host: '0.0.0.0', port: 7090 }, rpc: { host: '0.0.0.0', port: 7091 } })
          } else {
            expect(config).toMatchObject({ dataDir: '/var/lib/codio', http: { host: '0.0.0.0' }, admin: { host: '0.0.0.0' } })
            expect(config.p2p.listen).toEqual(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1'])
          }
          if (role === 'relay') expect(config.p2p.keyFile).toBe('/etc/codio/peer-keys/codio-relay-0.pem')
        }
      } finally { rmSync(dir, { recursive: true, force: true }) }
    })
  })

  test('monitoring: ServiceMonitor, PrometheusRule and dashboards from the repository\'s own files', () => {
    expect(render().filter(o => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind) || o.metadata.labels?.grafana_dashboard)).toEqual([])
    const objs = render(...valueSets.monitoring)
    const sm = find(objs, 'ServiceMonitor', 'codio')
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })])
    const scraped = objs.filter(o => o.kind === 'Service' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels[k] === v))
    expect(scraped.map(s => s.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['edge', 'origin', 'relay', 'tracker'])
    for (const s of scraped) expect(s.spec.ports.map((p: Obj) => p.name)).toContain('http')

    const ruleFiles = readdirSync(join(deploy, 'prometheus', 'rules')).filter(f => f.endsWith('.yaml')).sort()
    const groups = ruleFiles.flatMap(f => (parseYaml(readFileSync(join(deploy, 'prometheus', 'rules', f), 'utf8')) as Obj).groups)
    expect(groups.length).toBeGreaterThan(0)
    expect(find(objs, 'PrometheusRule', 'codio').spec.groups).toEqual(groups)

    const dashboards = readdirSync(join(deploy, 'grafana', 'dashboards')).filter(f => f.endsWith('.json')).sort()
    const cms = objs.filter(o => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard === '1')
    expect(cms.flatMap(c => Object.keys(c.data)).sort()).toEqual(dashboards)
    for (const c of cms) {
      for (const [f, text] of Object.entries(c.data)) expect(text).toBe(readFileSync(join(deploy, 'grafana', 'dashboards', f), 'utf8'))
    }
  })

  test('tracing: every Codio container exports to the OTLP endpoint with the sampler ratio, and none without one', () => {
    const containers = (objs: Obj[]): Obj[] => objs.filter(o => ['Deployment', 'StatefulSet'].includes(o.kind))
      .flatMap(o => o.spec.template.spec.containers.filter((c: Obj) => ['edge', 'relay', 'origin', 'tracker'].includes(c.name)))
    const otel = (c: Obj): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e: Obj) => e.name.startsWith('OTEL_')).map((e: Obj) => [e.name, e.value]))
    const off = containers(render())
    expect(off.map(c => c.name).sort()).toEqual(['edge', 'origin', 'relay', 'tracker'])
    for (const c of off) expect(otel(c)).toEqual({})
    const on = containers(render(...valueSets.monitoring))
    expect(on.map(c => c.name).sort()).toEqual(['edge', 'origin', 'relay', 'tracker'])
    for (const c of on) {
      expect(otel(c)).toEqual({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)'
      })
      // Kubernetes expands $(VAR) only from variables defined before it
      const names = c.env.map((e: Obj) => e.name)
      expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'))
      expect(names.indexOf('POD_NAMESPACE')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'))
    }
  })

  test('the chart\'s copies of dashboards and rules are byte-identical to deploy/grafana and deploy/prometheus', () => {
    for (const [copy, source] of [['files/dashboards', '../../grafana/dashboards'], ['files/rules', '../../prometheus/rules']]) {
      const names = readdirSync(join(chart, source)).sort()
      expect([copy, readdirSync(join(chart, copy)).sort()]).toEqual([copy, names])
      for (const n of names) {
        expect([n, readFileSync(join(chart, copy, n)).equals(readFileSync(join(chart, source, n)))]).toEqual([n, true])
      }
    }
  })

  test('the helm test hook publishes through the origin and fetches through the edge', () => {
    const objs = render()
    const pod = objs.find(o => o.kind === 'Pod' && isTestHook(o))!
    const c = pod.spec.containers[0]
    expect(c.image).toBe('codio/origin:0.1.0')
    const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value]))
    expect(env.ORIGIN_URL).toBe('http://codio-origin:7070')
    expect(env.EDGE_URL).toBe('http://codio-edge:8080')
    const script = c.args.join('\n')
    for (const s of ["'publish', '--origin'", "'--token-file', '/etc/codio/tokens/publish'", "'get', cid, '--edge'", "createHash('sha256')", 'process.exit(1)']) expect(script).toContain(s)
    expect(pod.spec.restartPolicy).toBe('Never')
    // The script is JavaScript node can compile.
    expect(spawnSync(process.execPath, ['--check', '-'], { input: script }).status).toBe(0)
  })
})
