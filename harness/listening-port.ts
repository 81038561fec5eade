import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'

// /proc/net/tcp's state column: 0A is LISTEN.
const LISTEN = '0A'
// Without /proc (not Linux) nothing can be told: every process is taken at its word.
const CAN_TELL = existsSync('/proc/self/net/tcp')

/**
 * True when process `pid` holds a socket listening on TCP `port`, read from /proc (Linux).
 *
 * A port probed free (free-port.ts) and handed to a child can be taken by another process —
 * another test file's server, a NATS monitor — before the child binds it. An HTTP answer on
 * the port is then someone else's: a NATS monitor answers /healthz 200 with the very body the
 * service does. Asking the kernel who owns the listening socket cannot be fooled that way.
 * Where there is no /proc to ask (not Linux), it answers true: the race is back there, nothing
 * else changes.
 */
export function listensOn (pid: number, port: number): boolean {
  if (!CAN_TELL) return true
  const inodes = listeningInodes(pid, port)
  if (inodes.size === 0) return false
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return false
  }
  for (const fd of fds) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed since the listing
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    if (inode !== undefined && inodes.has(inode)) return true
  }
  return false
}

/** The inodes of the sockets listening on `port` in the network namespace of `pid`. */
function listeningInodes (pid: number, port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  for (const table of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
    } catch {
      continue
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10 || fields[3] !== LISTEN) continue
      if (fields[1]!.split(':')[1] === hexPort) inodes.add(fields[9]!)
    }
  }
  return inodes
}
