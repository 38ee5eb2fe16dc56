// The parts of a Markdown file the docs tests check: fenced code blocks with their info strings,
// and option tables (`| option | meaning |`) with the section they stand in.
//
// An info string is `LANG` or `LANG TAG: REASON`. LANG is one of ts, js, sh or text. TAG says what
// the tests do NOT do with the block, and REASON says why:
//   not-run: REASON            type-checked (ts) or syntax-checked (js as an ES module, sh), but not run
//   not-compiled: needs P…     ts whose imports (packages P…) are not dependencies here; the
//                              test checks that they are indeed not installed
// Everything else is checked and run. `text` blocks (synopses, trees) are neither.

export type BlockLang = 'ts' | 'js' | 'sh' | 'text'

export interface CodeBlock {
  lang: BlockLang
  tag: 'not-run' | 'not-compiled' | undefined
  reason: string
  code: string
  /** 1-based line of the opening fence. */
  line: number
}

export interface OptionTable {
  /** The `## ` heading the table stands under. */
  section: string
  line: number
  rows: { option: string; meaning: string }[]
}

const LANGS: readonly string[] = ['ts', 'js', 'sh', 'text']

/** Every fenced block; throws on an info string this grammar does not know. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i])
    if (!open) continue
    const info = open[1].trim()
    const m = /^(\S+)(?:\s+(not-run|not-compiled):\s*(\S.*))?$/.exec(info)
    if (!m || !LANGS.includes(m[1])) throw new Error(`README.md:${i + 1}: info string '${info}' is not 'ts|js|sh|text [not-run|not-compiled: reason]'`)
    if (m[2] === 'not-compiled' && (m[1] !== 'ts' || !/^needs \S/.test(m[3]))) {
      throw new Error(`README.md:${i + 1}: not-compiled is for ts blocks and reads 'not-compiled: needs PACKAGE…'`)
    }
    const end = lines.indexOf('```', i + 1)
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`)
    blocks.push({ lang: m[1] as BlockLang, tag: m[2] as CodeBlock['tag'], reason: m[3] ?? '', code: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 })
    i = end
  }
  return blocks
}

/** Every table whose header row is `| option | meaning |`. */
export function optionTables(markdown: string): OptionTable[] {
  const lines = markdown.split('\n')
  const tables: OptionTable[] = []
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.+)$/.exec(lines[i])
    if (heading) section = heading[1].trim()
    if (!/^\|\s*option\s*\|\s*meaning\s*\|$/.test(lines[i])) continue
    const table: OptionTable = { section, line: i + 1, rows: [] }
    for (let j = i + 2; j < lines.length && lines[j].startsWith('|'); j++) {
      const cells = /^\|\s*`([^`]+)`\s*\|(.*)\|$/.exec(lines[j])
      if (!cells) throw new Error(`README.md:${j + 1}: an option row reads | \`name\` | meaning |`)
      table.rows.push({ option: cells[1], meaning: cells[2].trim() })
    }
    tables.push(table)
  }
  return tables
}

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** The value a table's meaning gives after "default" (`default 2 MiB`, `default false`), if any. */
export function statedDefault(meaning: string): number | boolean | undefined {
  const m = /\bdefault `?(true|false|\d+)`?(?: (KiB|MiB|GiB)\b)?/.exec(meaning)
  if (!m) return undefined
  if (m[1] === 'true' || m[1] === 'false') return m[1] === 'true'
  return Number(m[1]) * (m[2] ? UNITS[m[2]] : 1)
}
