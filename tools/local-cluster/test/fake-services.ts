import { afterAll, beforeAll } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { fixture } from './helpers.js'

/**
 * A `services/` folder under `dir` whose `<role>/dist/main.js` run fixtures/fake-service.mjs
 * (a /readyz server configured by the TOML the supervisor writes) for each of `roles`.
 */
export async function fakeServices (dir: string, roles = ['origin', 'relay', 'edge']): Promise<string> {
  const services = join(dir, 'services')
  for (const role of roles) {
    await mkdir(join(services, role, 'dist'), { recursive: true })
    await writeFile(join(services, role, 'dist', 'main.js'), `import ${JSON.stringify(pathToFileURL(fixture('fake-service.mjs')).href)}\n`)
  }
  return services
}

/**
 * For a `describe` block: a fresh temporary directory `root` (named `prefix…`, removed after
 * the block) holding stand-in `services` (see {@link fakeServices}); both set once `beforeAll` ran.
 */
export function withFakeServices (prefix: string): { root: string, services: string } {
  const fake = { root: '', services: '' }
  beforeAll(async () => {
    fake.root = await mkdtemp(join(tmpdir(), prefix))
    fake.services = await fakeServices(fake.root)
  })
  afterAll(async () => { await rm(fake.root, { recursive: true, force: true }) })
  return fake
}
