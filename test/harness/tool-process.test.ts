/**
 * A program the tests, the fault suite and the bench start (nats-server, haproxy) that this
 * machine lacks: a clear error naming what to install, never an unhandled 'error' event that ends
 * the run with a stack trace, nor a wait for an exit that never comes.
 */
import t from 'tap'
import { HaproxyProcess } from '../../harness/haproxy-process.js'
import { NatsCluster } from '../../harness/nats-process.js'
import { spawnTool } from '../../harness/tool-process.js'

t.test('a command that cannot be run: exited resolves, the error says what to install', async t => {
  const tool = spawnTool('metrics-ingest-no-such-program', [], 'install it from somewhere')
  await tool.exited
  const err = tool.startError()
  t.ok(err instanceof Error)
  t.match(err?.message, /^metrics-ingest-no-such-program could not be started \(spawn metrics-ingest-no-such-program ENOENT\): install it from somewhere$/)
})

t.test('a command that runs: no start error, its exit as usual', async t => {
  const tool = spawnTool(process.execPath, ['-e', 'process.exit(3)'], 'unused')
  await tool.exited
  t.equal(tool.startError(), undefined)
  t.equal(tool.child.exitCode, 3)
})

t.test('nats-server and haproxy missing from PATH: each start rejects, naming the package', async t => {
  const path = process.env.PATH
  t.teardown(() => { process.env.PATH = path })
  process.env.PATH = '/nonexistent'
  await t.rejects(NatsCluster.start(), /^nats-server could not be started \(spawn nats-server ENOENT\): .*apt-get install nats-server/)
  await t.rejects(HaproxyProcess.start({ servers: ['127.0.0.1:1'], port: 1, statsPort: 1 }), /^haproxy could not be started \(spawn haproxy ENOENT\): .*apt-get install haproxy/)
})
