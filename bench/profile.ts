/**
 * Summarises V8 CPU profiles — the ones `npm run bench -- --profile` writes under
 * bench/results/profiles/, or any `node --cpu-prof` output: self time by package and function,
 * inclusive time of the service's own functions.
 *
 *   npx tsx bench/profile.ts <file.cpuprofile>… [--top 20]
 */
import { parseArgs } from 'node:util'
import { formatProfile, summariseProfileFile } from './lib/measure/cpu-profile.js'

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '20' } }, allowPositionals: true })
if (positionals.length === 0) {
  console.error('usage: npx tsx bench/profile.ts <file.cpuprofile>… [--top 20]')
  process.exit(2)
}
for (const file of positionals) console.log(formatProfile(await summariseProfileFile(file, Number(values.top))) + '\n')
