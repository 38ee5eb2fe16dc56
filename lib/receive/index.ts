// The receive API (lib/receive/): receive() and what its callers see. Worker-side modules
// (session, apply, destination, …) are internal.
export { receive } from './api/receive.js'
export { createReceiveStream } from './api/receive-stream.js'
export type { ReceiveStream } from './api/receive-stream.js'
export type { ReceiveOptions, ReceiveResult, ReceiveProgress, ReceiveWarning } from './api/options.js'
export type { ReceivedSubvolume } from './fs/incoming.js'
export { TEMP_PREFIX as RECEIVE_TEMP_PREFIX } from './fs/temp-name.js'
export { ReceiveError } from './engine/receive-error.js'
