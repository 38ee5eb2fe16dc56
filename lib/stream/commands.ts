// The typed command model of a send stream: one interface per command (a union discriminated on
// `type`, lowercase kernel names) and the ONE schema table, shared by decoder, encoder and dump,
// that says which attribute carries which field, its wire kind, and which fields a command needs.
// Field names are fixed per attribute (PATH is always `path`, FILE_OFFSET always `fileOffset`);
// `offset` is the command's own byte position in the input, not a file offset.
import { ATTR, CMD, type StreamVersion } from './constants.js'

/** A timespec as sent: le64 seconds (unsigned on disk) and le32 nanoseconds. */
export interface Timespec {
  sec: bigint
  nsec: number
}

/**
 * Where a decoded command came from. Not part of what the encoder needs (see CommandData).
 * `offset` is the absolute byte offset of the command's 10-byte header in the whole input,
 * `index` its position among all commands of the input (0-based, across concatenated streams),
 * `stream` the 0-based number of the stream header it follows and `version` that header's version.
 */
export interface CommandOrigin {
  offset: number
  index: number
  stream: number
  version: StreamVersion
}

// Byte-valued fields (paths, names, xattr values, data) are Buffers. In decoded commands they are
// views into the decoder's buffers, valid until the next command is pulled, unless `copy: true`.

export interface SubvolCommand extends CommandOrigin {
  type: 'subvol'
  /** Basename of the subvolume; never contains '/'. */
  path: Buffer
  uuid: Buffer
  ctransid: bigint
}
export interface SnapshotCommand extends CommandOrigin {
  type: 'snapshot'
  path: Buffer
  uuid: Buffer
  ctransid: bigint
  /** The parent subvolume's (received) uuid and ctransid. */
  cloneUuid: Buffer
  cloneCtransid: bigint
}
export interface MkfileCommand extends CommandOrigin {
  type: 'mkfile'
  path: Buffer
  ino: bigint
}
export interface MkdirCommand extends CommandOrigin {
  type: 'mkdir'
  path: Buffer
  ino: bigint
}
export interface MknodCommand extends CommandOrigin {
  type: 'mknod'
  path: Buffer
  ino: bigint
  /** Kernel new_encode_dev() value. */
  rdev: bigint
  /** Full st_mode including the file type bits. */
  mode: number
}
export interface MkfifoCommand extends CommandOrigin {
  type: 'mkfifo'
  path: Buffer
  ino: bigint
  rdev: bigint
  mode: number
}
export interface MksockCommand extends CommandOrigin {
  type: 'mksock'
  path: Buffer
  ino: bigint
  rdev: bigint
  mode: number
}
export interface SymlinkCommand extends CommandOrigin {
  type: 'symlink'
  path: Buffer
  ino: bigint
  /** The verbatim link target (may be absolute or contain '..'). */
  pathLink: Buffer
}
export interface RenameCommand extends CommandOrigin {
  type: 'rename'
  path: Buffer
  pathTo: Buffer
}
export interface LinkCommand extends CommandOrigin {
  type: 'link'
  /** The new name. */
  path: Buffer
  /** The existing name it links to. */
  pathLink: Buffer
}
export interface UnlinkCommand extends CommandOrigin {
  type: 'unlink'
  path: Buffer
}
export interface RmdirCommand extends CommandOrigin {
  type: 'rmdir'
  path: Buffer
}
export interface SetXattrCommand extends CommandOrigin {
  type: 'set_xattr'
  path: Buffer
  xattrName: Buffer
  xattrData: Buffer
}
export interface RemoveXattrCommand extends CommandOrigin {
  type: 'remove_xattr'
  path: Buffer
  xattrName: Buffer
}
export interface WriteCommand extends CommandOrigin {
  type: 'write'
  path: Buffer
  fileOffset: number
  data: Buffer
}
export interface CloneCommand extends CommandOrigin {
  type: 'clone'
  /** Destination range: `path` at `fileOffset`, `cloneLen` bytes. */
  fileOffset: number
  cloneLen: number
  path: Buffer
  /** Source: `clonePath` at `cloneOffset` inside the subvolume with this (received) uuid. */
  cloneUuid: Buffer
  cloneCtransid: bigint
  clonePath: Buffer
  cloneOffset: number
}
export interface TruncateCommand extends CommandOrigin {
  type: 'truncate'
  path: Buffer
  size: number
}
export interface ChmodCommand extends CommandOrigin {
  type: 'chmod'
  path: Buffer
  mode: number
}
export interface ChownCommand extends CommandOrigin {
  type: 'chown'
  path: Buffer
  uid: number
  gid: number
}
export interface UtimesCommand extends CommandOrigin {
  type: 'utimes'
  path: Buffer
  atime: Timespec
  mtime: Timespec
  ctime: Timespec
  /** Sent only by protocol ≥ 2. */
  otime?: Timespec
}
export interface EndCommand extends CommandOrigin {
  type: 'end'
}
export interface UpdateExtentCommand extends CommandOrigin {
  type: 'update_extent'
  path: Buffer
  fileOffset: number
  size: number
}
export interface FallocateCommand extends CommandOrigin {
  type: 'fallocate'
  path: Buffer
  /** Raw fallocate(2) mode (3 = PUNCH_HOLE | KEEP_SIZE). */
  fallocateMode: number
  fileOffset: number
  size: number
}
export interface FileattrCommand extends CommandOrigin {
  type: 'fileattr'
  path: Buffer
  /** btrfs inode flags (low 32 bits) and ro_flags (high 32 bits). */
  fileattr: number
}
export interface EncodedWriteCommand extends CommandOrigin {
  type: 'encoded_write'
  path: Buffer
  fileOffset: number
  unencodedFileLen: number
  unencodedLen: number
  unencodedOffset: number
  /** BTRFS_ENCODED_IO_COMPRESSION_*; absent means 0 (progs' default). */
  compression?: number
  /** BTRFS_ENCODED_IO_ENCRYPTION_*; absent (inline extents) means 0. */
  encryption?: number
  data: Buffer
}
export interface EnableVerityCommand extends CommandOrigin {
  type: 'enable_verity'
  path: Buffer
  verityAlgorithm: number
  verityBlockSize: number
  veritySaltData: Buffer
  veritySigData: Buffer
}
/**
 * A command number the stream's version does not define, passed through only with
 * `allowUnknownCommands`. `payload` is the raw TLV area, unparsed.
 */
export interface UnknownCommand extends CommandOrigin {
  type: 'unknown'
  cmd: number
  payload: Buffer
}

export type KnownCommand =
  | SubvolCommand
  | SnapshotCommand
  | MkfileCommand
  | MkdirCommand
  | MknodCommand
  | MkfifoCommand
  | MksockCommand
  | SymlinkCommand
  | RenameCommand
  | LinkCommand
  | UnlinkCommand
  | RmdirCommand
  | SetXattrCommand
  | RemoveXattrCommand
  | WriteCommand
  | CloneCommand
  | TruncateCommand
  | ChmodCommand
  | ChownCommand
  | UtimesCommand
  | EndCommand
  | UpdateExtentCommand
  | FallocateCommand
  | FileattrCommand
  | EncodedWriteCommand
  | EnableVerityCommand

export type Command = KnownCommand | UnknownCommand
export type CommandType = KnownCommand['type']
export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>

type Distribute<C> = C extends unknown ? Omit<C, keyof CommandOrigin> : never
/** A command as given to the encoder: no origin fields. Decoded commands are assignable to it. */
export type CommandData = Distribute<Command>

/**
 * Wire kinds of attribute values. `u64` becomes a checked number (≤ MAX_SAFE_INTEGER),
 * `u64n` a bigint; `bytes` has a u16 length; `data` is DATA (19), lengthless in v2+.
 */
export type AttributeKind = 'u8' | 'u32' | 'u64' | 'u64n' | 'uuid' | 'timespec' | 'bytes' | 'data'

type AnyField = Exclude<{ [K in CommandType]: keyof CommandOf<K> }[CommandType], keyof CommandOrigin | 'type'>

export interface AttributeSpec {
  attr: number
  kind: AttributeKind
  /** BTRFS_SEND_A_* name, for messages. */
  name: string
}

/** Field name → attribute: the only mapping between the two (one field per attribute). */
export const ATTRIBUTES = {
  uuid: { attr: ATTR.UUID, kind: 'uuid', name: 'UUID' },
  ctransid: { attr: ATTR.CTRANSID, kind: 'u64n', name: 'CTRANSID' },
  ino: { attr: ATTR.INO, kind: 'u64n', name: 'INO' },
  size: { attr: ATTR.SIZE, kind: 'u64', name: 'SIZE' },
  mode: { attr: ATTR.MODE, kind: 'u64', name: 'MODE' },
  uid: { attr: ATTR.UID, kind: 'u64', name: 'UID' },
  gid: { attr: ATTR.GID, kind: 'u64', name: 'GID' },
  rdev: { attr: ATTR.RDEV, kind: 'u64n', name: 'RDEV' },
  ctime: { attr: ATTR.CTIME, kind: 'timespec', name: 'CTIME' },
  mtime: { attr: ATTR.MTIME, kind: 'timespec', name: 'MTIME' },
  atime: { attr: ATTR.ATIME, kind: 'timespec', name: 'ATIME' },
  otime: { attr: ATTR.OTIME, kind: 'timespec', name: 'OTIME' },
  xattrName: { attr: ATTR.XATTR_NAME, kind: 'bytes', name: 'XATTR_NAME' },
  xattrData: { attr: ATTR.XATTR_DATA, kind: 'bytes', name: 'XATTR_DATA' },
  path: { attr: ATTR.PATH, kind: 'bytes', name: 'PATH' },
  pathTo: { attr: ATTR.PATH_TO, kind: 'bytes', name: 'PATH_TO' },
  pathLink: { attr: ATTR.PATH_LINK, kind: 'bytes', name: 'PATH_LINK' },
  fileOffset: { attr: ATTR.FILE_OFFSET, kind: 'u64', name: 'FILE_OFFSET' },
  data: { attr: ATTR.DATA, kind: 'data', name: 'DATA' },
  cloneUuid: { attr: ATTR.CLONE_UUID, kind: 'uuid', name: 'CLONE_UUID' },
  cloneCtransid: { attr: ATTR.CLONE_CTRANSID, kind: 'u64n', name: 'CLONE_CTRANSID' },
  clonePath: { attr: ATTR.CLONE_PATH, kind: 'bytes', name: 'CLONE_PATH' },
  cloneOffset: { attr: ATTR.CLONE_OFFSET, kind: 'u64', name: 'CLONE_OFFSET' },
  cloneLen: { attr: ATTR.CLONE_LEN, kind: 'u64', name: 'CLONE_LEN' },
  fallocateMode: { attr: ATTR.FALLOCATE_MODE, kind: 'u32', name: 'FALLOCATE_MODE' },
  fileattr: { attr: ATTR.FILEATTR, kind: 'u64', name: 'FILEATTR' },
  unencodedFileLen: { attr: ATTR.UNENCODED_FILE_LEN, kind: 'u64', name: 'UNENCODED_FILE_LEN' },
  unencodedLen: { attr: ATTR.UNENCODED_LEN, kind: 'u64', name: 'UNENCODED_LEN' },
  unencodedOffset: { attr: ATTR.UNENCODED_OFFSET, kind: 'u64', name: 'UNENCODED_OFFSET' },
  compression: { attr: ATTR.COMPRESSION, kind: 'u32', name: 'COMPRESSION' },
  encryption: { attr: ATTR.ENCRYPTION, kind: 'u32', name: 'ENCRYPTION' },
  verityAlgorithm: { attr: ATTR.VERITY_ALGORITHM, kind: 'u8', name: 'VERITY_ALGORITHM' },
  verityBlockSize: { attr: ATTR.VERITY_BLOCK_SIZE, kind: 'u32', name: 'VERITY_BLOCK_SIZE' },
  veritySaltData: { attr: ATTR.VERITY_SALT_DATA, kind: 'bytes', name: 'VERITY_SALT_DATA' },
  veritySigData: { attr: ATTR.VERITY_SIG_DATA, kind: 'bytes', name: 'VERITY_SIG_DATA' },
} as const satisfies Record<AnyField, AttributeSpec>

export type AttributeField = keyof typeof ATTRIBUTES

export interface CommandSchema<T extends CommandType = CommandType> {
  type: T
  cmd: number
  /** First protocol version that defines the command. */
  since: StreamVersion
  /** Fields in the kernel's emission order; the encoder writes them in this order. */
  fields: readonly Exclude<keyof CommandOf<T>, keyof CommandOrigin | 'type'>[]
  /** Fields that may be absent; all others are required (progs: "attribute N requested but not present"). */
  optional: readonly Exclude<keyof CommandOf<T>, keyof CommandOrigin | 'type'>[]
}

function schema<T extends CommandType>(
  type: T,
  cmd: number,
  since: StreamVersion,
  fields: CommandSchema<T>['fields'],
  optional: CommandSchema<T>['optional'] = [],
): CommandSchema<T> {
  return { type, cmd, since, fields, optional }
}

/** Every known command, keyed by type (in the kernel's emission order). */
export const COMMANDS: { readonly [T in CommandType]: CommandSchema<T> } = {
  subvol: schema('subvol', CMD.SUBVOL, 1, ['path', 'uuid', 'ctransid']),
  snapshot: schema('snapshot', CMD.SNAPSHOT, 1, ['path', 'uuid', 'ctransid', 'cloneUuid', 'cloneCtransid']),
  mkfile: schema('mkfile', CMD.MKFILE, 1, ['path', 'ino']),
  mkdir: schema('mkdir', CMD.MKDIR, 1, ['path', 'ino']),
  mknod: schema('mknod', CMD.MKNOD, 1, ['path', 'ino', 'rdev', 'mode']),
  mkfifo: schema('mkfifo', CMD.MKFIFO, 1, ['path', 'ino', 'rdev', 'mode']),
  mksock: schema('mksock', CMD.MKSOCK, 1, ['path', 'ino', 'rdev', 'mode']),
  symlink: schema('symlink', CMD.SYMLINK, 1, ['path', 'ino', 'pathLink']),
  rename: schema('rename', CMD.RENAME, 1, ['path', 'pathTo']),
  link: schema('link', CMD.LINK, 1, ['path', 'pathLink']),
  unlink: schema('unlink', CMD.UNLINK, 1, ['path']),
  rmdir: schema('rmdir', CMD.RMDIR, 1, ['path']),
  set_xattr: schema('set_xattr', CMD.SET_XATTR, 1, ['path', 'xattrName', 'xattrData']),
  remove_xattr: schema('remove_xattr', CMD.REMOVE_XATTR, 1, ['path', 'xattrName']),
  write: schema('write', CMD.WRITE, 1, ['path', 'fileOffset', 'data']),
  clone: schema('clone', CMD.CLONE, 1, [
    'fileOffset', 'cloneLen', 'path', 'cloneUuid', 'cloneCtransid', 'clonePath', 'cloneOffset',
  ]),
  truncate: schema('truncate', CMD.TRUNCATE, 1, ['path', 'size']),
  chmod: schema('chmod', CMD.CHMOD, 1, ['path', 'mode']),
  chown: schema('chown', CMD.CHOWN, 1, ['path', 'uid', 'gid']),
  utimes: schema('utimes', CMD.UTIMES, 1, ['path', 'atime', 'mtime', 'ctime', 'otime'], ['otime']),
  end: schema('end', CMD.END, 1, []),
  update_extent: schema('update_extent', CMD.UPDATE_EXTENT, 1, ['path', 'fileOffset', 'size']),
  fallocate: schema('fallocate', CMD.FALLOCATE, 2, ['path', 'fallocateMode', 'fileOffset', 'size']),
  fileattr: schema('fileattr', CMD.FILEATTR, 2, ['path', 'fileattr']),
  encoded_write: schema(
    'encoded_write', CMD.ENCODED_WRITE, 2,
    ['path', 'fileOffset', 'unencodedFileLen', 'unencodedLen', 'unencodedOffset', 'compression', 'encryption', 'data'],
    ['compression', 'encryption'],
  ),
  enable_verity: schema('enable_verity', CMD.ENABLE_VERITY, 3, [
    'path', 'verityAlgorithm', 'verityBlockSize', 'veritySaltData', 'veritySigData',
  ]),
}

/** Schema by command number (index = BTRFS_SEND_C_*); undefined for 0 and unknown numbers. */
export const COMMANDS_BY_NUMBER: readonly (CommandSchema | undefined)[] = (() => {
  const table: (CommandSchema | undefined)[] = []
  for (const s of Object.values(COMMANDS) as CommandSchema[]) table[s.cmd] = s
  return table
})()

/** Field and spec by attribute number (index = BTRFS_SEND_A_*); undefined for 0 and unknown numbers. */
export const ATTRIBUTES_BY_NUMBER: readonly ({ field: AttributeField } & AttributeSpec | undefined)[] = (() => {
  const table: ({ field: AttributeField } & AttributeSpec | undefined)[] = []
  for (const [field, spec] of Object.entries(ATTRIBUTES)) table[spec.attr] = { field: field as AttributeField, ...spec }
  return table
})()
