import { createServer } from 'node:net'

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    })
  })
}

/**
 * `start(port)` on a port probed free. Between the probe and the child's bind another process
 * may take the port: the child then fails with EADDRINUSE, and `start` is tried again on
 * another port (up to `attempts` times). Any other failure is thrown as it is.
 */
export async function onFreePort<T> (start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort())
    } catch (err) {
      if (attempt >= attempts || !/EADDRINUSE/.test(String((err as Error).message))) throw err
    }
  }
}
