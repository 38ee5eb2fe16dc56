/// <reference path="../types/native.d.ts" preserve="true" />
// The only importer of the C++ addon. Loads it lazily with node-gyp-build (build/Release first,
// then prebuilds/), or from BTRFS_STREAM_NATIVE when set (CI uses that to test the cmake-js
// build). A failed load explains itself; the pure-TypeScript parts never trigger it.
import path from 'node:path'
import { BtrfsError } from './errors.js'


const packageRoot = path.resolve(__dirname, '..')
let addon: BtrfsNative.Addon | undefined
let loadedFrom: string | undefined

export function native(): BtrfsNative.Addon {
  if (addon) return addon
  const override = process.env.BTRFS_STREAM_NATIVE
  try {
    if (override) {
      loadedFrom = path.resolve(override)
      addon = require(loadedFrom) as BtrfsNative.Addon
    } else {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const load = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string }
      loadedFrom = load.resolve(packageRoot)
      addon = require(loadedFrom) as BtrfsNative.Addon
    }
  } catch (cause) {
    throw new BtrfsError(
      'BTRFS_ADDON_UNAVAILABLE',
      `btrfs-stream: the native addon could not be loaded (${(cause as Error).message}). ` +
        `Looked in ${override ? path.resolve(override) : `${packageRoot}/build/Release and ${packageRoot}/prebuilds`}. ` +
        'Build it from source with `npm rebuild btrfs-stream` (needs python3, make, g++), ' +
        'or install on linux-x64 where a prebuild ships.',
      { cause },
    )
  }
  return addon
}

/** Where the addon was loaded from (diagnostics and tests). */
export function nativePath(): string | undefined {
  native()
  return loadedFrom
}
