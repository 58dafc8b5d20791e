import { existsSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'smol-toml'
import { spawnService, type ServiceProcess } from './process/spawn-service.js'

/** A service the cluster runs, by its folder under `services/`. */
export type ServiceRole = 'origin' | 'relay' | 'edge' | 'tracker'

/**
 * The repository's `services/` folder, whose built `dist/main.js` the cluster starts:
 * `CODIO_SERVICES_DIR` when set.
 */
export function defaultServicesDir (): string {
  return process.env.CODIO_SERVICES_DIR ?? fileURLToPath(new URL('../../../services/', import.meta.url))
}

/** The built entry point of `role` under `servicesDir`. */
export function serviceMain (servicesDir: string, role: ServiceRole): string {
  return join(servicesDir, role, 'dist', 'main.js')
}

/** Whether `role` is built under `servicesDir`. */
export function isBuilt (servicesDir: string, role: ServiceRole): boolean {
  return existsSync(serviceMain(servicesDir, role))
}

/** One service process to start: its TOML settings, where they go and where it logs. */
export interface ServiceLaunch {
  role: ServiceRole
  name: string
  configPath: string
  logPath: string
  config: Record<string, unknown>
}

/**
 * Write `launch.config` as TOML to `configPath` (tmp + rename: the service never reads half a
 * file) and start the service with it, appending its output to `logPath`.
 */
export async function launchService (servicesDir: string, launch: ServiceLaunch): Promise<ServiceProcess> {
  await writeFile(`${launch.configPath}.tmp`, stringify(launch.config))
  await rename(`${launch.configPath}.tmp`, launch.configPath)
  return spawnService({
    name: launch.name,
    script: serviceMain(servicesDir, launch.role),
    args: ['--config', launch.configPath],
    output: { file: launch.logPath }
  })
}
