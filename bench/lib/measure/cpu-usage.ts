/**
 * CPU time of each party over a measured window, from /proc: the server process (or each of
 * several: the replicas group's services), PostgreSQL (the postmaster and every backend), any other
 * process named (HAProxy), this runner (the load generator) and the whole machine. On 2 cores it
 * says which one the throughput was waiting for — and how much CPU something else took. A party
 * without a pid (no server: bare-commit, ceiling-copy; a --target deployment: neither a server nor
 * a PostgreSQL of ours) has no figure at all rather than a 0.
 */
import { readFileSync } from 'node:fs'
import { processTree } from '../run/pinning.js'

// USER_HZ: the unit of /proc/<pid>/stat's utime and stime; 100 on every Linux Node supports.
const TICKS_PER_SECOND = 100

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is 3rd, utime 14th and stime 15th of the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/**
 * Busy seconds of all cores together (everything but idle and iowait), and of them the stolen
 * ones: time a virtual machine's cores wanted to run and the host ran something else.
 */
function machineSeconds (): { busy: number, steal: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu
  return { busy: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND, steal: steal / TICKS_PER_SECOND }
}

export interface CpuReading {
  at: number
  /** Every server process together (undefined: none was given), and each (in the order given). */
  server?: number
  servers: number[]
  database?: number
  /** The named processes (HAProxy), each. */
  named: Record<string, number>
  runner: number
  machine: number
  steal: number
}

export interface CpuUsage {
  seconds: number
  /** Cores' worth of CPU each used over the window (1.0 = one core busy throughout); undefined: no server process of ours. */
  serverCores?: number
  /** Each server process, when there are several (the replicas group's services); serverCores is their sum. */
  serverEachCores?: number[]
  databaseCores?: number
  /** Processes read by name, beside the server (HAProxy in front of the replicas). */
  namedCores?: Record<string, number>
  runnerCores: number
  /** The whole machine, and what none of the processes read used (other processes, the kernel's share). */
  machineCores: number
  otherCores: number
  /** Of otherCores: stolen by the host from this virtual machine (0 on bare metal). */
  stealCores: number
}

/**
 * `serverPids`: the server process, or each of several (undefined: none runs). `named`: other
 * processes to read apart, e.g. `{ haproxy: pid }`; each alone, not its children.
 */
export function readCpu (serverPids: number | readonly number[] | undefined, databasePid: number | undefined, named: Readonly<Record<string, number>> = {}): CpuReading {
  const database = databasePid === undefined ? undefined : processTree(databasePid).reduce((sum, pid) => sum + processSeconds(pid), 0)
  const machine = machineSeconds()
  const servers = (serverPids === undefined ? [] : typeof serverPids === 'number' ? [serverPids] : serverPids).map(processSeconds)
  return {
    at: performance.now(),
    ...(serverPids !== undefined ? { server: servers.reduce((sum, s) => sum + s, 0) } : {}),
    servers,
    ...(database !== undefined ? { database } : {}),
    named: Object.fromEntries(Object.entries(named).map(([name, pid]) => [name, processSeconds(pid)])),
    runner: processSeconds(process.pid),
    machine: machine.busy,
    steal: machine.steal
  }
}

export function cpuUsage (before: CpuReading, after: CpuReading): CpuUsage {
  const seconds = (after.at - before.at) / 1000
  const cores = (a: number, b: number): number => Math.round((b - a) / seconds * 100) / 100
  const serverCores = before.server === undefined || after.server === undefined ? undefined : cores(before.server, after.server)
  const databaseCores = before.database === undefined || after.database === undefined ? undefined : cores(before.database, after.database)
  const serverEachCores = after.servers.length > 1 ? after.servers.map((s, i) => cores(before.servers[i] ?? 0, s)) : undefined
  const namedCores = Object.keys(after.named).length > 0
    ? Object.fromEntries(Object.entries(after.named).map(([name, s]) => [name, cores(before.named[name] ?? 0, s)]))
    : undefined
  const namedTotal = Object.values(namedCores ?? {}).reduce((sum, c) => sum + c, 0)
  const runnerCores = cores(before.runner, after.runner)
  const machineCores = cores(before.machine, after.machine)
  return {
    seconds,
    ...(serverCores !== undefined ? { serverCores } : {}),
    ...(serverEachCores !== undefined ? { serverEachCores } : {}),
    ...(databaseCores !== undefined ? { databaseCores } : {}),
    ...(namedCores !== undefined ? { namedCores } : {}),
    runnerCores,
    machineCores,
    // Never below 0: the per-process and machine counters tick at 100 Hz and are read a moment apart.
    otherCores: Math.max(0, Math.round((machineCores - (serverCores ?? 0) - (databaseCores ?? 0) - namedTotal - runnerCores) * 100) / 100),
    stealCores: cores(before.steal, after.steal)
  }
}

/** CPU time per stored event, in µs: cores busy × 1e6 ÷ events a second. */
export interface CpuPerEvent {
  /** The service's; undefined where no service ran (ceiling-copy). */
  serviceMicros?: number
  /** PostgreSQL's (all its processes); undefined on DATABASE_URL's server, whose processes are not ours to read. */
  databaseMicros?: number
}

export function cpuPerEvent (cpu: CpuUsage, eventsPerSecond: number, { service }: { service: boolean }): CpuPerEvent {
  const micros = (cores: number): number => Math.round(cores * 1e6 / eventsPerSecond * 10) / 10
  return {
    ...(service && cpu.serverCores !== undefined ? { serviceMicros: micros(cpu.serverCores) } : {}),
    ...(cpu.databaseCores !== undefined ? { databaseMicros: micros(cpu.databaseCores) } : {})
  }
}

export function formatCpu (cpu: CpuUsage): string {
  const each = cpu.serverEachCores === undefined ? '' : ` (${cpu.serverEachCores.join(' + ')})`
  const named = Object.entries(cpu.namedCores ?? {}).map(([name, cores]) => `, ${name} ${cores}`).join('')
  return `CPU (cores busy over the window): server ${cpu.serverCores ?? 'n/a'}${each}${named}, PostgreSQL ${cpu.databaseCores ?? 'n/a'}, ` +
    `load generator ${cpu.runnerCores}, other ${cpu.otherCores} (stolen by the host ${cpu.stealCores}); machine ${cpu.machineCores}`
}

/** A --target run: only this machine's figures exist — the target's processes have no pid here. */
export function formatRunnerCpu (cpu: CpuUsage): string {
  return `CPU (cores busy over the window): load generator ${cpu.runnerCores}; the rest of this machine ${cpu.otherCores} ` +
    `(the target's, if it runs here); machine ${cpu.machineCores}. The target's service and PostgreSQL are not measured: not our processes`
}
