// Command-line parsing with the conventions of btrfs-progs (GNU getopt_long): short flags combine
// (`-qe`), a short option's value may be attached or follow (`-fFILE`, `-f FILE`), long options
// take `--name=value` or `--name value` and may be shortened to any unambiguous prefix, operands
// may come before or after options, `--` ends the options, and a lone `-` is an operand.
// Results keep the order of the command line, so a later flag can override an earlier one.

export interface OptionSpec {
  /** The key the parsed option is reported under. */
  name: string
  /** One letter, used as `-x`. */
  short?: string
  /** Used as `--long`. */
  long?: string
  /** Whether the option takes a value. */
  value: boolean
}

export interface ParsedOption {
  name: string
  /** How it was written (`-f`, `--max-errors`), for messages. */
  flag: string
  value: string | undefined
}

export interface ParsedArgv {
  options: ParsedOption[]
  operands: string[]
}

/** A usage mistake, worded as getopt words it. */
export class ArgvError extends Error {}

function findLong(specs: readonly OptionSpec[], name: string): OptionSpec {
  const exact = specs.find((s) => s.long === name)
  if (exact) return exact
  const candidates = specs.filter((s) => s.long !== undefined && s.long.startsWith(name))
  if (candidates.length === 1) return candidates[0]
  if (candidates.length === 0) throw new ArgvError(`unrecognized option '--${name}'`)
  throw new ArgvError(`option '--${name}' is ambiguous; possibilities: ${candidates.map((c) => `'--${c.long}'`).join(' ')}`)
}

/** Parses `args` (argv without the command names) against `specs`; throws ArgvError. */
export function parseArgv(args: readonly string[], specs: readonly OptionSpec[]): ParsedArgv {
  const options: ParsedOption[] = []
  const operands: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--') {
      operands.push(...args.slice(i + 1))
      break
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
      const spec = findLong(specs, name)
      const flag = `--${spec.long}`
      if (!spec.value) {
        if (eq >= 0) throw new ArgvError(`option '${flag}' doesn't allow an argument`)
        options.push({ name: spec.name, flag, value: undefined })
      } else if (eq >= 0) {
        options.push({ name: spec.name, flag, value: a.slice(eq + 1) })
      } else {
        if (i + 1 >= args.length) throw new ArgvError(`option '${flag}' requires an argument`)
        options.push({ name: spec.name, flag, value: args[++i] })
      }
      continue
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a)
      continue
    }
    // A cluster of short flags; the first one that takes a value takes the rest of the cluster
    // or, when nothing is left, the next argument.
    for (let j = 1; j < a.length; j++) {
      const letter = a[j]
      const spec = specs.find((s) => s.short === letter)
      if (!spec) throw new ArgvError(`invalid option -- '${letter}'`)
      const flag = `-${letter}`
      if (!spec.value) {
        options.push({ name: spec.name, flag, value: undefined })
        continue
      }
      if (j + 1 < a.length) options.push({ name: spec.name, flag, value: a.slice(j + 1) })
      else if (i + 1 < args.length) options.push({ name: spec.name, flag, value: args[++i] })
      else throw new ArgvError(`option requires an argument -- '${letter}'`)
      break
    }
  }
  return { options, operands }
}
