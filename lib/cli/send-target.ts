// Where `btrfs-stream send` writes: the one place that turns -f's argument (or its absence) into
// an open target. A target knows how to take a send (sendToFd for files and pipes: the kernel's
// stream never passes through JS) and how to clean up after a failure. An s3://BUCKET/KEY
// target uploads the stream with its manifest (s3-url.ts).
import fs from 'node:fs'
import { isatty } from 'node:tty'
import { sendToFd, type SendOptions } from '../send/index.js'
import { isS3Url, openS3Target, S3UrlError } from './s3-url.js'

export interface SendTargetHandle {
  /** Sends `subvolumes` into the target; resolves with the bytes written. */
  send(subvolumes: string[], options: Omit<SendOptions, 'highWaterMark'>): Promise<number>
  /** After a failed send: removes what a failed send left behind (a partial file). */
  discard(): void
  close(): void
}

/** A usage error worded for the user (printed as `ERROR: …`, exit code 1). */
export class TargetError extends Error {}

function fdTarget(fd: number, file: string | undefined): SendTargetHandle {
  const regular = file !== undefined && fs.fstatSync(fd).isFile()
  return {
    send: (subvolumes, options) => sendToFd(subvolumes, fd, options),
    discard: () => {
      // A partial stream must not be mistaken for a backup later; pipes and devices are left be.
      if (regular) fs.rmSync(file, { force: true })
    },
    close: () => {
      if (file !== undefined) fs.closeSync(fd)
    },
  }
}

/**
 * Opens the target named by -f (stdout when undefined or '-'). As btrfs send does: an existing
 * file is truncated and keeps its mode, a new one is created 0600; a terminal is refused.
 */
export function openSendTarget(file: string | undefined): SendTargetHandle {
  if (isS3Url(file)) {
    try {
      return openS3Target(file)
    } catch (err) {
      if (err instanceof S3UrlError) throw new TargetError(err.message)
      throw err
    }
  }
  if (file === undefined || file === '-') {
    if (isatty(1)) {
      throw new TargetError('not dumping send stream into a terminal, redirect it into a file')
    }
    return fdTarget(1, undefined)
  }
  let fd: number
  try {
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600)
    }
  } catch (err) {
    throw new TargetError(`cannot create '${file}': ${(err as Error).message}`)
  }
  if (isatty(fd)) {
    fs.closeSync(fd)
    throw new TargetError('not dumping send stream into a terminal, redirect it into a file')
  }
  return fdTarget(fd, file)
}
