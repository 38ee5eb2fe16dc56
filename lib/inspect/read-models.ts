// Drives the decoder over a whole input and yields one finished StreamModel per stream (inputs may
// hold several concatenated streams, as `btrfs send A B` writes). A model is complete only at END:
// final paths are known only once every rename has been seen. An input cut before END is the
// decoder's error (BTRFS_STREAM_TRUNCATED), so every model yielded here is whole.
import { parse, type ByteSource, type ParseOptions } from '../stream/parser.js'
import { StreamModel } from './model.js'

export async function* readModels(source: ByteSource | string, options: ParseOptions = {}): AsyncGenerator<StreamModel, void, undefined> {
  let model: StreamModel | undefined
  for await (const cmd of parse(source, options)) {
    if (cmd.type === 'subvol' || cmd.type === 'snapshot') {
      if (model) yield model
      model = new StreamModel(cmd)
    } else if (cmd.type === 'end') {
      if (model) yield model
      model = undefined
    } else if (model) {
      model.apply(cmd)
    }
  }
}
