// A TCP proxy in front of the test S3 server that breaks connections on purpose and records every
// HTTP request that passes (S3 operation, key, response status). Requests are framed by their
// Content-Length (the SDK sends Buffers with one); responses are matched to requests by order,
// as HTTP/1.1 without pipelining answers them. A test installs `onRequest` to act on a request
// before it is forwarded: reset both connections, cut the response after N bytes, or stall.
// kill() drops every connection and stops listening; listen() again on the same port restarts.
import net from 'node:net'

export interface LoggedRequest {
  conn: number
  method: string
  url: string
  /** The S3 operation (the SDK's x-id query parameter, else guessed from method and query). */
  op: string
  key: string
  /** Status of the response, when one started; undefined if the connection broke first. */
  status?: number
}

export interface FaultControl {
  /** Drop both connections with a TCP reset; the request is not forwarded. */
  reset(): void
  /** Forward the request, then reset once `bytes` bytes of the response have passed. */
  cutResponseAfter(bytes: number): void
  /** Forward nothing more in either direction (the client waits until it gives up or aborts). */
  stall(): void
}

function operation(method: string, url: string): string {
  const q = new URL(url, 'http://x').searchParams
  const id = q.get('x-id')
  if (id) return id
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload'
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload'
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload'
  if (method === 'PUT' && q.has('partNumber')) return 'UploadPart'
  if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2'
  return `${method} object`
}

function objectKey(url: string): string {
  const p = new URL(url, 'http://x').pathname.split('/').slice(2).join('/')
  return decodeURIComponent(p)
}

export class FaultProxy {
  readonly log: LoggedRequest[] = []
  onRequest: ((req: LoggedRequest, control: FaultControl) => void) | undefined
  upstreamPort: number
  port = 0
  #server: net.Server | undefined
  readonly #sockets = new Set<net.Socket>()
  #conns = 0

  constructor(upstreamPort: number) {
    this.upstreamPort = upstreamPort
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Starts listening (again) on `port` (0 = a free one the first time). */
  listen(port = this.port): Promise<void> {
    const server = net.createServer((client) => this.#connection(client))
    this.#server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port
        resolve()
      })
    })
  }

  /** Drops every connection and stops listening, as if the proxy process died. */
  kill(): Promise<void> {
    for (const s of this.#sockets) s.resetAndDestroy()
    this.#sockets.clear()
    const server = this.#server
    this.#server = undefined
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()))
  }

  /** Requests of operation `op` (optionally on `key`). */
  ops(op: string, key?: string): LoggedRequest[] {
    return this.log.filter((r) => r.op === op && (key === undefined || r.key === key))
  }

  #connection(client: net.Socket): void {
    const conn = ++this.#conns
    const upstream = net.connect(this.upstreamPort, '127.0.0.1')
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    const drop = () => {
      client.resetAndDestroy()
      upstream.resetAndDestroy()
      this.#sockets.delete(client)
      this.#sockets.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())

    let head = Buffer.alloc(0)
    let bodyLeft = 0
    let framed = true
    let stalled = false
    let cutAfter = -1
    let current: LoggedRequest | undefined
    let responseStart = false

    client.on('data', (chunk: Buffer) => {
      if (stalled) return
      let forward = true
      // Find request heads in this chunk (skipping bodies) and let the test act on each.
      let p = 0
      while (framed && p < chunk.length) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, chunk.length - p)
          bodyLeft -= n
          p += n
          continue
        }
        head = Buffer.concat([head, chunk.subarray(p)])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) break
        const consumed = end + 4 - (head.length - (chunk.length - p))
        const text = head.subarray(0, end).toString('latin1')
        head = Buffer.alloc(0)
        p += consumed
        const [method, url] = text.split('\r\n')[0].split(' ')
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)
        if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) framed = false
        bodyLeft = length ? Number(length[1]) : 0
        const req: LoggedRequest = { conn, method, url, op: operation(method, url), key: objectKey(url) }
        this.log.push(req)
        // No pipelining: the server's next bytes begin this request's response.
        current = req
        responseStart = false
        this.onRequest?.(req, {
          reset: () => {
            forward = false
            drop()
          },
          cutResponseAfter: (bytes) => {
            cutAfter = bytes
          },
          stall: () => {
            stalled = true
            forward = false
          },
        })
        if (!forward) return
      }
      if (forward) upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return
      // The status line of the current request's response, after any interim 100 Continue.
      if (current && !responseStart) {
        const text = chunk.toString('latin1', 0, Math.min(chunk.length, 4096))
        for (let at = 0; at < text.length;) {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(text.slice(at, at + 16))
          if (!m) break
          if (m[1] !== '100') {
            current.status = Number(m[1])
            responseStart = true
            break
          }
          const end = text.indexOf('\r\n\r\n', at)
          if (end < 0) break
          at = end + 4
        }
      }
      if (cutAfter >= 0) {
        if (chunk.length >= cutAfter) {
          client.write(chunk.subarray(0, cutAfter), () => drop())
          cutAfter = -1
          stalled = true
          return
        }
        cutAfter -= chunk.length
      }
      client.write(chunk)
    })
  }
}
