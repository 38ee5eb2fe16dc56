// ReceiveError: a failed receive, naming what failed where: the command (kernel name), its
// stream path, the command's byte offset and index, the subvolume being received and, when it
// was kept (keepPartial), where the partial subvolume is. `cause` holds the underlying error
// (a BtrfsSystemError: branch on err.cause.code === 'ENOSPC'). Path rejections keep their own
// code (BTRFS_RECEIVE_PATH_REJECTED); every other command failure is BTRFS_RECEIVE_COMMAND_FAILED.
import { BtrfsError, type ErrorCode } from '../../errors.js'

export interface ReceiveErrorInit {
  cause?: unknown
  command?: string
  path?: string
  offset?: number
  commandIndex?: number
  subvolume?: string
}

export class ReceiveError extends BtrfsError {
  command?: string
  offset?: number
  commandIndex?: number
  /** Name of the subvolume being received when it failed. */
  subvolume?: string
  /** Where the incomplete subvolume was left (only with keepPartial); never marked received. */
  partialPath?: string

  constructor(code: ErrorCode, message: string, init: ReceiveErrorInit = {}) {
    init ??= {}
    super(code, message, { cause: init.cause, path: init.path })
    if (init.command !== undefined) this.command = init.command
    if (init.offset !== undefined) this.offset = init.offset
    if (init.commandIndex !== undefined) this.commandIndex = init.commandIndex
    if (init.subvolume !== undefined) this.subvolume = init.subvolume
  }
}
