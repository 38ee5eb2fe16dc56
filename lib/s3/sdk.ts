// Loads @aws-sdk/client-s3 when an S3 function is first called, not when btrfs-stream/s3 is
// imported: it is an optional peer dependency, and its absence should be a coded error that says
// what to install, not a module-not-found at import time.
import type * as ClientS3 from '@aws-sdk/client-s3'
import { BtrfsError } from '../errors.js'

export type Sdk = typeof ClientS3
let sdk: Sdk | undefined

export function loadSdk(): Sdk {
  if (sdk) return sdk
  try {
    sdk = require('@aws-sdk/client-s3') as Sdk
  } catch (err) {
    throw new BtrfsError('BTRFS_S3_SDK_MISSING', 'btrfs-stream/s3 needs @aws-sdk/client-s3: npm install @aws-sdk/client-s3', { cause: err })
  }
  return sdk
}
