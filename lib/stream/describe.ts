// StreamDescriber: a passive observer that learns, from the bytes of a send stream as they pass by,
// what a backup catalogue needs to know about it: the protocol version, each subvolume's uuid,
// name and ctransid, the parent it is an incremental on, the other subvolumes it clones from,
// and the byte and command counts. It decodes with StreamDecoder (so a corrupt stream fails
// here, before it is stored) and keeps nothing of the data itself.
import { StreamDecoder, type DecoderOptions } from './decoder.js'
import type { StreamVersion } from './constants.js'
import type { ByteSource } from './parser.js'
import { formatUuid } from '../uuid.js'

export interface DescribedSubvolume {
  /** The subvolume's name as the stream gives it (the basename it is received under). */
  name: string
  /** Its uuid on the sending side: the received uuid it gets on the receiving side. */
  uuid: string
  ctransid: bigint
  /** For an incremental stream, the parent's uuid and ctransid; null for a full stream. */
  parentUuid: string | null
  parentCtransid: bigint | null
  /** Uuids of other subvolumes that CLONE commands read from (neither itself nor the parent). */
  cloneUuids: string[]
}

export interface StreamDescription {
  /** Protocol version of the (first) stream header; null when no header was seen. */
  version: StreamVersion | null
  bytes: number
  commands: number
  subvolumes: DescribedSubvolume[]
}

export class StreamDescriber {
  readonly #decoder: StreamDecoder
  #bytes = 0
  #version: StreamVersion | null = null
  readonly #subvolumes: DescribedSubvolume[] = []
  #clones = new Set<string>()

  constructor(options: DecoderOptions = {}) {
    this.#decoder = new StreamDecoder(options)
  }

  /** Feeds the next chunk; throws the decoder's StreamFormatError on a malformed stream. */
  push(chunk: Uint8Array): void {
    this.#bytes += chunk.length
    this.#decoder.write(chunk)
    for (let c = this.#decoder.next(); c !== undefined; c = this.#decoder.next()) {
      if (this.#version === null) this.#version = this.#decoder.version
      if (c.type === 'subvol' || c.type === 'snapshot') {
        this.#flushClones()
        this.#subvolumes.push({
          name: c.path.toString(),
          uuid: formatUuid(c.uuid),
          ctransid: c.ctransid,
          parentUuid: c.type === 'snapshot' ? formatUuid(c.cloneUuid) : null,
          parentCtransid: c.type === 'snapshot' ? c.cloneCtransid : null,
          cloneUuids: [],
        })
      } else if (c.type === 'clone') {
        this.#clones.add(formatUuid(c.cloneUuid))
      }
    }
  }

  /** What the input so far says (clone sources of the current subvolume are not in it yet). */
  get description(): StreamDescription {
    return { version: this.#version, bytes: this.#bytes, commands: this.#decoder.commandCount, subvolumes: this.#subvolumes }
  }

  /**
   * Ends the input: throws if it stopped inside a command; returns the description. No input at
   * all is not an error here (an empty description): the caller decides whether that is valid.
   */
  end(): StreamDescription {
    if (this.#bytes > 0) this.#decoder.end()
    this.#flushClones()
    return this.description
  }

  #flushClones(): void {
    const last = this.#subvolumes[this.#subvolumes.length - 1]
    if (last) last.cloneUuids = [...this.#clones].filter((u) => u !== last.uuid && u !== last.parentUuid)
    this.#clones = new Set()
  }
}

/** Reads a whole stream and describes it. */
export async function describeStream(source: ByteSource, options?: DecoderOptions): Promise<StreamDescription> {
  const describer = new StreamDescriber(options)
  for await (const chunk of source as AsyncIterable<Uint8Array>) describer.push(chunk)
  return describer.end()
}
