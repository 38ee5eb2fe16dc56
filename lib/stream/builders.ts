// Per-command object builders, generated once from the COMMANDS schema. The decoder stores each
// attribute's value in a slot array indexed by attribute number; a builder turns the slots into
// the command object with one object literal. Why generated code: an object literal gets its
// final hidden class at birth, where adding fields by name (`cmd[field] = v`) walks a transition
// chain per command and makes every store site megamorphic; on a stream of 8,000 commands,
// mostly run before the JIT warms up, the literal roughly halved the decoder's time here. The
// generated text comes only from the static schema (never from input), so it is safe to compile.
import { ATTRIBUTES, COMMANDS_BY_NUMBER, type Command, type CommandSchema } from './commands.js'
import type { StreamVersion } from './constants.js'

/** Builds a command from its origin and the attribute slots (index = BTRFS_SEND_A_*). */
export type CommandBuilder = (offset: number, index: number, stream: number, version: StreamVersion, slots: unknown[]) => Command

function builderSource(s: CommandSchema): string {
  const fields = s.fields as readonly (keyof typeof ATTRIBUTES)[]
  const optional = fields.filter((f) => (s.optional as readonly string[]).includes(f))
  const head = [`type: ${JSON.stringify(s.type)}`, 'offset: o', 'index: i', 'stream: s', 'version: v']
  const literal = (present: readonly string[]): string => {
    const sent = fields.filter((f) => !optional.includes(f) || present.includes(f))
    return `{ ${head.concat(sent.map((f) => `${f}: a[${ATTRIBUTES[f].attr}]`)).join(', ')} }`
  }
  if (optional.length === 0) return `return ${literal([])}`
  // Optional fields stay absent (not `undefined`) when the stream did not send them, and keys keep
  // the schema's order: one literal per combination (at most two optional fields, four literals).
  const mask = optional.map((f, k) => `(a[${ATTRIBUTES[f].attr}] !== undefined ? ${1 << k} : 0)`).join(' | ')
  const cases = Array.from({ length: 1 << optional.length }, (_, m) =>
    `case ${m}: return ${literal(optional.filter((_, k) => m & (1 << k)))}`,
  )
  return `switch (${mask}) { ${cases.join('; ')} }`
}

const built: (CommandBuilder | undefined)[] = []

/**
 * The builder of command number `cmd` (a number COMMANDS defines), compiled on first use: a
 * stream uses a handful of the 26 commands, and each compile costs about 0.1 ms at startup.
 */
export function builderFor(cmd: number): CommandBuilder {
  let b = built[cmd]
  if (b === undefined) {
    const s = COMMANDS_BY_NUMBER[cmd] as CommandSchema
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- schema-only text, see header
    b = built[cmd] = new Function('o', 'i', 's', 'v', 'a', builderSource(s)) as CommandBuilder
  }
  return b
}
