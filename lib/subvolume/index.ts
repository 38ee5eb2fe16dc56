// The `subvolume` namespace of the public API (import { subvolume } from 'btrfs-stream').
export { create, snapshot, delete, isReadOnly, setReadOnly, info, list } from './api.js'
export type { SubvolumeInfo, SubvolumeEntry, SnapshotOptions, SetReadOnlyOptions } from './api.js'
