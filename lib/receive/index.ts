// The receive API (lib/receive/): receive() and what its callers see. Worker-side modules
// (session, apply, destination, …) are internal.
export { receive } from './receive.js'
export type { ReceiveOptions, ReceiveResult, ReceiveProgress, ReceiveWarning } from './options.js'
export type { ReceivedSubvolume } from './incoming.js'
export { TEMP_PREFIX as RECEIVE_TEMP_PREFIX } from './temp-name.js'
export { ReceiveError } from './receive-error.js'
