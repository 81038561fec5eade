/**
 * The cores a window kept the machine busy for its own work, from its CPU figures alone: no /proc
 * reading here, so the report (report/ratios.ts) uses it on a result read back from disk.
 */
import type { CpuUsage } from './cpu-usage.js'

/** All busy time but what the host stole, in cores. */
export function ownBusyCores (cpu: CpuUsage): number {
  return cpu.machineCores - cpu.stealCores
}
