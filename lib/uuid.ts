// UUIDs as the kernel keeps them: 16 raw bytes. Text form is uuid_unparse's (lower-case hex,
// 8-4-4-4-12); an all-zero uuid means "none" (no parent, not received).

import { InvalidArgumentError } from './errors.js'
import { checkBytes } from './check.js'

export function formatUuid(bytes: Uint8Array): string {
  checkBytes(bytes, 'uuid', 16)
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function parseUuid(text: string): Buffer | undefined {
  if (typeof text !== 'string') throw new InvalidArgumentError(`uuid text must be a string, got ${typeof text}`)
  const hex = text.replace(/-/g, '')
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined
}

export function isZeroUuid(bytes: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (bytes[i] !== 0) return false
  return true
}

/** The text form, or null for the all-zero "none" uuid. */
export function formatOptionalUuid(bytes: Uint8Array): string | null {
  return isZeroUuid(bytes) ? null : formatUuid(bytes)
}
