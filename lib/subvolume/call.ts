// Calls into the addon with Node-shaped errors whose stack starts at our caller: captures an
// Error before the native call and converts the addon's errno error on the way out.
import { fromNative } from '../errors.js'
import { native } from '../native.js'

export async function nativeCall<T>(path: string | undefined, call: (addon: BtrfsNative.Addon) => Promise<T>): Promise<T> {
  const stackFrom = new Error()
  try {
    return await call(native())
  } catch (err) {
    throw fromNative(err, path, stackFrom)
  }
}
