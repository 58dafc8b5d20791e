import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Directories searched after PATH: Debian puts `nats-server` in /usr/sbin, often not on a user's PATH. */
export const DEFAULT_SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']

export interface FindBinaryOptions {
  /** Environment whose `PATH` is searched first. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Searched after PATH, in order. Default {@link DEFAULT_SEARCH_DIRS}. */
  dirs?: string[]
}

/**
 * The absolute path of the first executable regular file called `name` in `PATH`, then in
 * `dirs`; `undefined` when there is none.
 */
export function findBinary (name: string, options: FindBinaryOptions = {}): string | undefined {
  for (const dir of searchDirs(options)) {
    const file = join(dir, name)
    try {
      if (!statSync(file).isFile()) continue
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // absent or not executable: keep looking
    }
  }
  return undefined
}

/** The directories {@link findBinary} searches, in order, without duplicates. */
export function searchDirs (options: FindBinaryOptions = {}): string[] {
  const path = (options.env ?? process.env).PATH ?? ''
  const dirs = [...path.split(delimiter), ...(options.dirs ?? DEFAULT_SEARCH_DIRS)].filter(d => d !== '')
  return [...new Set(dirs)]
}
