// Types for scripts/loop-btrfs.js (used by the TypeScript tests).
export interface LoopBtrfs {
  dir: string
  image: string
  device: string | undefined
  mnt: string
  mounted: boolean
}
export interface LoopBtrfsOptions {
  size?: string
  mountOptions?: string[]
  mkfsArgs?: string[]
}
export function createLoopBtrfs(options?: LoopBtrfsOptions): LoopBtrfs
export function destroyLoopBtrfs(fsys: LoopBtrfs | undefined): void
export function unavailableReason(): string | undefined
export function cleanupStale(): void
export function run(cmd: string, args: string[], opts?: object): string
export const PREFIX: string
