// The `btrfs-stream/s3` entry: back up send streams to S3 and restore chains of them. Kept out
// of the main entry so that `import 'btrfs-stream'` never loads @aws-sdk/client-s3 (an optional
// peer dependency that this entry loads on first use).
export { upload } from './upload.js'
export type { UploadOptions, UploadResult, UploadProgress } from './upload.js'
export { download, DownloadStream } from './download.js'
export type { DownloadOptions } from './download.js'
export { restore, listBackups, planChain, pickTarget } from './restore.js'
export type { BackupLocation, RestoreOptions, RestoreProgress, RestoreResult } from './restore.js'
export { MANIFEST_SUFFIX, manifestKey } from './manifest.js'
export type { BackupManifest, ManifestSubvolume } from './manifest.js'
export { S3RequestError } from './retry.js'
export type { RetryOptions } from './retry.js'
export { partSizeAt, layout, capacity, DEFAULT_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MAX_OBJECT_SIZE } from './part-size.js'
export { describeStream, StreamDescriber } from '../stream/describe.js'
export type { StreamDescription, DescribedSubvolume } from '../stream/describe.js'
