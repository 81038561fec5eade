/**
 * The replicas group's section of the report, the same on the console and in the Markdown (issue
 * 13): per load, the window straight to one service and the windows through HAProxy to 1, 2, 3
 * replicas — throughput, its ratio to 1 replica and to direct, latency, and the CPU of every
 * process — then what this machine lets those figures say. Undefined for a run without the group.
 */
import type { Machine } from '../measure/machine.js'
import type { ReplicasStep, ScenarioResult } from '../scenario.js'
import { fmt, gridTable, ms } from './table.js'

type Window = ScenarioResult & { replicas: ReplicasStep }

const rowsPerFlush = (w: Window): string => {
  const rows = w.service?.meanRowsPerFlush
  return rows === undefined ? '—' : rows < 100 ? rows.toFixed(1) : fmt(rows)
}
const times = (ratio: number | undefined): string => ratio === undefined ? '—' : `${ratio.toFixed(2)}×`
const cores = (n: number | undefined): string => n === undefined ? '—' : n.toFixed(2)

function windowsOf (results: readonly ScenarioResult[]): Window[] {
  return results.filter((r): r is Window => r.replicas !== undefined)
}

/** The figure a load is compared on: req/s for single events, committed events/s for batches. */
function figure (r: Window): number | undefined {
  return r.replicas.figure === 'req/s' ? r.requestsPerSecond : r.eventsPerSecond
}

function ratio (a: Window | undefined, b: Window | undefined): number | undefined {
  const x = a === undefined ? undefined : figure(a)
  const y = b === undefined ? undefined : figure(b)
  return x === undefined || y === undefined || y === 0 ? undefined : x / y
}

function find (windows: readonly Window[], load: string, via: ReplicasStep['via'], replicas: number): Window | undefined {
  return windows.find(w => w.replicas.load === load && w.replicas.via === via && w.replicas.replicas === replicas)
}

function table (windows: readonly Window[], cpuCores: number): string {
  const rows = windows.map(w => {
    const { load, via, replicas } = w.replicas
    const direct = find(windows, load, 'direct', 1)
    const one = find(windows, load, 'haproxy', 1)
    const cpu = w.cpu
    const each = cpu?.serverEachCores ?? (cpu?.serverCores === undefined ? [] : [cpu.serverCores])
    return [
      load,
      via === 'direct' ? 'direct (no HAProxy)' : 'HAProxy',
      String(replicas),
      fmt(w.requestsPerSecond),
      fmt(w.eventsPerSecond),
      via === 'haproxy' ? times(ratio(w, one)) : '—',
      via === 'haproxy' ? times(ratio(w, direct)) : '—',
      ms(w.latencyMs?.p50),
      ms(w.latencyMs?.p99),
      rowsPerFlush(w),
      each.map(c => c.toFixed(2)).join(' + '),
      cores(cpu?.serverCores),
      cores(cpu?.namedCores?.haproxy),
      cores(cpu?.databaseCores),
      cores(cpu?.runnerCores),
      cores(cpu?.otherCores),
      cpu === undefined ? '—' : `${cpu.machineCores.toFixed(2)} of ${cpuCores}`,
      w.noLoss === undefined ? '—' : w.noLoss.passed ? 'ok' : 'FAILED'
    ]
  })
  const header = ['load', 'via', 'replicas', 'req/s', 'events/s', '÷ 1 replica', '÷ direct', 'p50 ms', 'p99 ms', 'rows/flush',
    'CPU each service', 'services', 'HAProxy', 'PostgreSQL', 'load gen', 'other', 'machine', 'no loss']
  return gridTable(header, rows, 3)
}

/** What the figures can and cannot say on this machine, from the figures themselves. */
function reading (windows: readonly Window[], machine: Machine): string[] {
  const loads = [...new Set(windows.map(w => w.replicas.load))]
  const most = Math.max(...windows.map(w => w.replicas.replicas))
  const busiest = Math.max(...windows.map(w => w.cpu?.machineCores ?? 0))
  const lines: string[] = []
  const processes = most + 3
  if (machine.cores < processes) {
    lines.push(`**This does not measure scale-out, and cannot here.** The machine has ${machine.cores} cores; with ${most} replicas, ` +
      `${processes} busy processes share them — ${most} services, HAProxy, PostgreSQL and the load generator (autocannon in this ` +
      'runner) — so throughput cannot grow linearly with replicas on it: a second or third replica takes its CPU from the first, ' +
      `from PostgreSQL and from the client. The busiest window kept ${busiest.toFixed(2)} of ${machine.cores} cores busy. ` +
      'What these windows do show: what the HAProxy hop costs (÷ direct at 1 replica, and HAProxy\'s own CPU), that N replicas ' +
      'write side by side into one database without losing or duplicating an event (no loss), and how the CPU splits. ' +
      'What N replicas give on N machines (or N spare cores) needs a machine with the cores for it.')
  } else {
    lines.push(`The machine has ${machine.cores} cores for at most ${processes} busy processes (${most} services, HAProxy, PostgreSQL, ` +
      `the load generator); the busiest window kept ${busiest.toFixed(2)} of them busy.`)
  }
  for (const load of loads) {
    const direct = find(windows, load, 'direct', 1)
    const one = find(windows, load, 'haproxy', 1)
    const last = find(windows, load, 'haproxy', most)
    if (direct === undefined || one === undefined) continue
    const unit = one.replicas.figure
    const hop = ratio(one, direct)
    const flushes = windows.filter(w => w.replicas.load === load && w.replicas.via === 'haproxy' && w.service !== undefined)
    const scale = last === undefined || last === one
      ? ''
      : `; ${most} replicas give ${times(ratio(last, one))} of 1 replica's (linear would be ${most}.00×). ` +
        // Each replica batches only the requests it is given: the same load in more, smaller transactions.
        `Rows per flush (all replicas' flushes): ${flushes.map(w => `${rowsPerFlush(w)} at ${w.replicas.replicas}`).join(', ')} — ` +
        'each replica group-commits only its share of the load, so the same events take more, smaller transactions'
    lines.push(`${load}: through HAProxy to 1 replica ${fmt(figure(one))} ${unit} against ${fmt(figure(direct))} straight to the service ` +
      `(${times(hop)}), HAProxy itself using ${cores(one.cpu?.namedCores?.haproxy)} cores; p50 ${ms(one.latencyMs?.p50)} ms against ${ms(direct.latencyMs?.p50)} ms${scale}.`)
  }
  return lines
}

const MODEL = 'Each window is an HTTP scenario of the main table (the same bodies, warm-up, measured window and no-loss check), on the ' +
  'bench\'s one PostgreSQL, the service with ACK_MODE=durable and its defaults. **direct**: autocannon to the one service\'s port. ' +
  '**HAProxy**: the replicas started at once on the emptied bench database, then HAProxy with the shipped deploy/haproxy.cfg (fixed ' +
  'loopback addresses in place of Docker\'s DNS: harness/haproxy-process.ts) in front of them, waited for until every replica is in its ' +
  'pool; autocannon to HAProxy\'s port, the same connections. rows/flush: the mean rows a transaction of the services (summed counters). ÷ 1 replica: this window ÷ HAProxy with 1 replica; ÷ direct: ÷ the ' +
  'direct window, same load, same run (req/s for single events, committed events/s for batches). CPU: cores busy over the measured ' +
  'window — each service process (services: their sum), HAProxy, PostgreSQL (all its processes), the load generator (this runner: ' +
  'autocannon, and reading HAProxy\'s one log line per request from its pipe), and the rest of the machine. Every window\'s service ' +
  'counters are the replicas\' summed; rows are counted in the one database against the 2xx answers the client got. In the main ' +
  'table these windows\' CPU svc is the services\' sum, and HAProxy\'s CPU is in none of its columns (not in other): it is here.'

export function replicasSection (results: readonly ScenarioResult[], machine: Machine): string | undefined {
  const windows = windowsOf(results)
  if (windows.length === 0) return undefined
  return [
    '## Replicas: throughput through HAProxy with 1, 2 and 3 replicas (issue 13)',
    MODEL,
    table(windows, machine.cores),
    ...reading(windows, machine)
  ].join('\n\n')
}
