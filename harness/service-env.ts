/**
 * The environment a service under test starts with: this process's own, less every key the
 * service reads as configuration, then the run's settings on top. A FLUSH_MAX_ROWS or ACK_MODE
 * left in the shell must not change a run that says "defaults otherwise". The keys come from the
 * schema itself, so a key the service learns later is scrubbed without anyone remembering to.
 */
import { ConfigSchema } from '../src/config.js'

export function serviceEnv (settings: Readonly<Record<string, string>>): Record<string, string | undefined> {
  const inherited = { ...process.env }
  for (const key of Object.keys(ConfigSchema.properties)) delete inherited[key]
  return { ...inherited, ...settings }
}
