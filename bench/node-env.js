// The environment our measured Node children run in: this one minus NODE_EXTRA_CA_CERTS. Where
// that variable is set (as on the development VM, for its TLS proxy), every Node process parses
// the whole CA bundle at startup, about 0.05-0.07 s here, before any of our code runs; none of
// what is benchmarked uses TLS, and btrfs-progs pays no such cost. Each bench prints this fact.
'use strict'

const DROPPED = ['NODE_EXTRA_CA_CERTS']

function nodeEnv() {
  const env = { ...process.env }
  for (const name of DROPPED) delete env[name]
  return env
}

/** One line for a bench's output, saying what was dropped (empty when nothing was set). */
function nodeEnvNote() {
  const set = DROPPED.filter((n) => process.env[n] !== undefined)
  return set.length === 0 ? '' : `node children run without ${set.join(', ')} (set here; it makes every Node process parse a CA bundle at startup)`
}

module.exports = { nodeEnv, nodeEnvNote }
