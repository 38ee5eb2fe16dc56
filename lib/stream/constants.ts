// Numbers of the btrfs send stream format: magic, protocol versions, command and attribute codes,
// framing sizes and default limits. Transcribed from kernel fs/btrfs/send.h (not part of the uapi
// headers). Nothing here has behaviour.

/** `btrfs-stream` plus a NUL. */
export const STREAM_MAGIC: Readonly<Uint8Array> = Uint8Array.from([
  0x62, 0x74, 0x72, 0x66, 0x73, 0x2d, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x00,
])
/** Magic (13) + le32 version. */
export const STREAM_HEADER_SIZE = 17
/** le32 len + le16 cmd + le32 crc (§1.2). `len` excludes these 10 bytes. */
export const COMMAND_HEADER_SIZE = 10
/** le16 type + le16 len (§1.3). */
export const TLV_HEADER_SIZE = 4

export type StreamVersion = 1 | 2 | 3
export const MIN_STREAM_VERSION = 1
/** v3 (fs-verity) is only sent by CONFIG_BTRFS_DEBUG kernels, but the format is fixed (§2.8). */
export const MAX_STREAM_VERSION = 3

/** BTRFS_SEND_C_* (§2.2). */
export const CMD = {
  UNSPEC: 0,
  SUBVOL: 1,
  SNAPSHOT: 2,
  MKFILE: 3,
  MKDIR: 4,
  MKNOD: 5,
  MKFIFO: 6,
  MKSOCK: 7,
  SYMLINK: 8,
  RENAME: 9,
  LINK: 10,
  UNLINK: 11,
  RMDIR: 12,
  SET_XATTR: 13,
  REMOVE_XATTR: 14,
  WRITE: 15,
  CLONE: 16,
  TRUNCATE: 17,
  CHMOD: 18,
  CHOWN: 19,
  UTIMES: 20,
  END: 21,
  UPDATE_EXTENT: 22,
  FALLOCATE: 23,
  FILEATTR: 24,
  ENCODED_WRITE: 25,
  ENABLE_VERITY: 26,
} as const

/** Highest command number each protocol version defines (kernel proto_cmd_ok()). */
export const CMD_MAX: Readonly<Record<StreamVersion, number>> = { 1: 22, 2: 25, 3: 26 }

/** BTRFS_SEND_A_* (§2.1). */
export const ATTR = {
  UNSPEC: 0,
  UUID: 1,
  CTRANSID: 2,
  INO: 3,
  SIZE: 4,
  MODE: 5,
  UID: 6,
  GID: 7,
  RDEV: 8,
  CTIME: 9,
  MTIME: 10,
  ATIME: 11,
  OTIME: 12,
  XATTR_NAME: 13,
  XATTR_DATA: 14,
  PATH: 15,
  PATH_TO: 16,
  PATH_LINK: 17,
  FILE_OFFSET: 18,
  DATA: 19,
  CLONE_UUID: 20,
  CLONE_CTRANSID: 21,
  CLONE_PATH: 22,
  CLONE_OFFSET: 23,
  CLONE_LEN: 24,
  FALLOCATE_MODE: 25,
  FILEATTR: 26,
  UNENCODED_FILE_LEN: 27,
  UNENCODED_LEN: 28,
  UNENCODED_OFFSET: 29,
  COMPRESSION: 30,
  ENCRYPTION: 31,
  VERITY_ALGORITHM: 32,
  VERITY_BLOCK_SIZE: 33,
  VERITY_SALT_DATA: 34,
  VERITY_SIG_DATA: 35,
} as const

/** Highest attribute number each protocol version defines. */
export const ATTR_MAX: Readonly<Record<StreamVersion, number>> = { 1: 24, 2: 31, 3: 35 }

/** Sizes of fixed-size attribute values; anything else is rejected (§1.4). */
export const UUID_SIZE = 16
/** le64 sec + le32 nsec, packed (§2.4). */
export const TIMESPEC_SIZE = 12

/** Kernel send buffer = largest whole command (header + TLVs) it can emit (§1.7). */
export const SEND_BUF_SIZE_V1 = 65536
/** 16 KiB + 128 KiB compressed extent, page aligned with 4 KiB pages; 196608 with 64 KiB pages. */
export const SEND_BUF_SIZE_V2 = 147456

/**
 * Default cap on a command's `len` (payload bytes). The largest command a kernel can emit is its
 * send buffer minus the 10-byte header: 147446 with 4 KiB pages, 196598 with 64 KiB pages
 * (ppc64, some arm64). 256 KiB admits both with margin while keeping a hostile stream from
 * making us buffer anything large: `len` is a u32 and progs would realloc up to 4 GiB.
 */
export const DEFAULT_MAX_COMMAND_LENGTH = 256 * 1024

/** TLV lengths are le16 (§1.3), so v1 values and every non-DATA value are at most this. */
export const MAX_TLV_LENGTH = 0xffff
