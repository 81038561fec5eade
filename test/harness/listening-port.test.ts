/**
 * Whose port is it: a port probed free can be taken by another process before the child it was
 * meant for binds it. listensOn asks the kernel which process holds the listening socket;
 * onFreePort starts again on another port when the child found its port taken.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { createInterface } from 'node:readline'
import t from 'tap'
import { freePort, onFreePort } from '../../harness/free-port.js'
import { listensOn } from '../../harness/listening-port.js'

async function listen (port = 0): Promise<Server> {
  const server = createServer()
  server.listen(port, '127.0.0.1')
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err })])
  return server
}

const portOf = (server: Server): number => (server.address() as { port: number }).port

t.test('listensOn: true for the process holding the listening socket, false for any other', async t => {
  const mine = await listen()
  t.teardown(() => { mine.close() })
  t.ok(listensOn(process.pid, portOf(mine)), 'this process listens on its own port')

  // Another process listening: its port is not this process's, and it is the child's.
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string]
  const childPort = Number(line)
  t.ok(listensOn(child.pid!, childPort), 'the child listens on the port it printed')
  t.notOk(listensOn(process.pid, childPort), "the child's port is not this process's")
  t.notOk(listensOn(child.pid!, portOf(mine)), "this process's port is not the child's")

  const idle = await freePort()
  t.notOk(listensOn(process.pid, idle), 'a port nobody listens on')
  child.kill('SIGKILL')
  await once(child, 'exit')
  t.notOk(listensOn(child.pid!, childPort), 'a process that is gone listens on nothing')
})

t.test('listensOn: a connected socket on the port is not a listening one', async t => {
  const server = await listen()
  t.teardown(() => { server.close() })
  const { connect } = await import('node:net')
  const client = connect(portOf(server), '127.0.0.1')
  await once(client, 'connect')
  t.teardown(() => { client.destroy() })
  // The client's own local port is held by this process, but nothing listens there.
  t.notOk(listensOn(process.pid, client.localPort!), "the client end's port")
  t.ok(listensOn(process.pid, portOf(server)))
})

t.test('onFreePort: a port taken before the bind costs one more attempt on another port', async t => {
  const tried: number[] = []
  const servers: Server[] = []
  t.teardown(() => { for (const server of servers) server.close() })
  const server = await onFreePort(async port => {
    tried.push(port)
    // The first time, someone else binds the port between the probe and our bind.
    if (tried.length === 1) servers.push(await listen(port))
    const mine = await listen(port)
    servers.push(mine)
    return mine
  })
  t.equal(tried.length, 2, 'started twice')
  t.not(tried[1], tried[0], 'on another port')
  t.equal(portOf(server), tried[1])
})

t.test('onFreePort: any other failure is thrown at once; EADDRINUSE every time gives up after the attempts', async t => {
  let calls = 0
  await t.rejects(onFreePort(async () => { calls++; throw new Error('the database refused') }), /the database refused/)
  t.equal(calls, 1, 'not retried')

  calls = 0
  await t.rejects(onFreePort(async () => { calls++; throw new Error('listen EADDRINUSE: address already in use') }, 3), /EADDRINUSE/)
  t.equal(calls, 3, 'three attempts, then the error')
})
