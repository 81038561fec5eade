/**
 * Where a process spent its CPU, from a V8 .cpuprofile (`node --cpu-prof`): self time by
 * function and by package, and inclusive time of our own functions (dist/). On its own:
 * `npx tsx bench/profile.ts <file.cpuprofile>`.
 */
import { readFile } from 'node:fs/promises'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface TimeShare {
  name: string
  ms: number
  /** Of the busy time: everything but (idle). */
  percent: number
}

export interface ProfileSummary {
  file: string
  totalMs: number
  busyMs: number
  /** Self time by function. */
  functions: TimeShare[]
  /** Self time by package (node_modules), node internals, V8 (GC, native) and our dist/ files. */
  packages: TimeShare[]
  /** Inclusive time of the functions in dist/ (the service's own code, callees included). */
  ownInclusive: TimeShare[]
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

/** node_modules/@scope/name/… → @scope/name; dist/ingest/writer.js → dist/ingest/writer.js. */
function packageOf (frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName
  const url = frame.url
  if (url === '') return '(native)'
  if (url.startsWith('node:')) return 'node: internals'
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/')
    return first?.startsWith('@') === true ? `${first}/${second ?? ''}` : first ?? url
  }
  const dist = url.lastIndexOf('/dist/')
  if (dist !== -1) return url.slice(dist + 1)
  return url.replace(/^file:\/\//, '')
}

/** The service's compiled code: dist/ of this project, not a package's dist/ in node_modules. */
function isOwn (frame: CallFrame): boolean {
  return frame.url.includes('/dist/') && !frame.url.includes('/node_modules/')
}

function functionKey (frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName
  const where = packageOf(frame)
  const file = frame.url.slice(frame.url.lastIndexOf('/') + 1)
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} — ${where === file || where.endsWith(file) ? where : `${where} ${file}`}:${frame.lineNumber + 1}`
}

function top (totals: Map<string, number>, busyMs: number, n: number): TimeShare[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round(us / 1000 / busyMs * 1000) / 10 }))
}

export function summariseProfile (profile: CpuProfile, file: string, n = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const self = new Map<string, number>()
  const packages = new Map<string, number>()
  const own = new Map<string, number>()
  let idleUs = 0
  let totalUs = 0
  // Sample i lasts until the next one: its duration is timeDeltas[i + 1] (as DevTools counts it).
  for (const [i, id] of profile.samples.entries()) {
    const us = profile.timeDeltas[i + 1] ?? Math.max(0, profile.endTime - profile.startTime - totalUs)
    totalUs += us
    const node = byId.get(id)
    if (node === undefined) continue
    if (node.callFrame.functionName === '(idle)') { idleUs += us; continue }
    const key = functionKey(node.callFrame)
    self.set(key, (self.get(key) ?? 0) + us)
    const pkg = packageOf(node.callFrame)
    packages.set(pkg, (packages.get(pkg) ?? 0) + us)
    // Inclusive: each of our functions on this sample's stack, once even when recursive.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame
      if (frame === undefined || !isOwn(frame)) continue
      const ownKey = functionKey(frame)
      if (seen.has(ownKey)) continue
      seen.add(ownKey)
      own.set(ownKey, (own.get(ownKey) ?? 0) + us)
    }
  }
  const busyMs = (totalUs - idleUs) / 1000
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyMs),
    functions: top(self, busyMs, n),
    packages: top(packages, busyMs, n),
    ownInclusive: top(own, busyMs, n)
  }
}

export async function summariseProfileFile (file: string, n = 20): Promise<ProfileSummary> {
  return summariseProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, file, n)
}

/** Plain text, for the console and the Markdown report. */
export function formatProfile (summary: ProfileSummary): string {
  const section = (title: string, rows: TimeShare[]): string =>
    `${title}\n${rows.map(row => `  ${row.percent.toFixed(1).padStart(5)} %  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`).join('\n')}`
  return [
    `${summary.file}: ${summary.totalMs} ms sampled, ${summary.busyMs} ms busy (not idle); percentages are of busy time`,
    section('self time by package:', summary.packages),
    section('self time by function:', summary.functions),
    section('inclusive time of the service\'s own functions (dist/):', summary.ownInclusive)
  ].join('\n\n')
}
