#!/usr/bin/env node
/**
 * Summarise V8 CPU profiles (`node --cpu-prof`): self time by package (node_modules/<pkg>,
 * a workspace lib, node's internals, GC, idle) and by function, over one or more
 * `.cpuprofile` files.
 *
 *   node bench/profile-summary.mjs <file|dir>... [--top 25] [--last <seconds>]
 *
 * `--last` keeps only each profile's last seconds (e.g. the transfer of a bench, not the start).
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25
const lastAt = args.indexOf('--last')
const last = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) : Infinity
const files = []
for (const a of args) {
  if ((await stat(a)).isDirectory()) files.push(...(await readdir(a)).filter(f => f.endsWith('.cpuprofile')).map(f => join(a, f)))
  else files.push(a)
}

/** Where a frame's code lives: a package, a workspace lib, node itself, or a V8 pseudo-frame. */
function home (frame) {
  const url = frame.url
  if (url === '') return `(${frame.functionName || 'native'})`
  // node's internals by module (node:internal/crypto/hash), its public modules by name
  if (url.startsWith('node:')) return url
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const ws = /\/(libs|services)\/([^/]+)\//.exec(url)
  if (ws != null) return `@codio/${ws[2]}`
  return url
}

const byHome = new Map()
const byFunction = new Map()
let total = 0
for (const f of files) {
  const p = JSON.parse(await readFile(f, 'utf8'))
  const nodes = new Map(p.nodes.map(n => [n.id, n]))
  const dt = new Map()
  const from = p.endTime - last * 1e6
  let at = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0
    if (at >= from) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
  }
  for (const [id, us] of dt) {
    const n = nodes.get(id)
    if (n == null) continue
    const h = home(n.callFrame)
    if (h === '((idle))' || h === '((program))') continue
    total += us
    byHome.set(h, (byHome.get(h) ?? 0) + us)
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${h}${n.callFrame.url === '' ? '' : ':' + (n.callFrame.lineNumber + 1)}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
  }
}
const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  .map(([k, us]) => `${(us / 1e6).toFixed(2).padStart(8)} s ${(us / total * 100).toFixed(1).padStart(5)} %  ${k}`).join('\n')
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s busy (idle and (program) excluded)\n\nself time by package:\n${show(byHome)}\n\nself time by function:\n${show(byFunction)}`)
