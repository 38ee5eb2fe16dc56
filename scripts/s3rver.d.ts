// Types for scripts/s3rver.js (used by the TypeScript tests).
import type { ChildProcess } from 'node:child_process'
export interface LocalS3 {
  port: number
  endpoint: string
  child: ChildProcess
}
export function startS3rver(directory: string, buckets: string[], port?: number): Promise<LocalS3>
export function stopS3rver(server: LocalS3 | undefined): Promise<void>
