/**
 * Two service processes on one new database: both migrate, both make partitions ahead at
 * start-up and both make the same one on demand at once — one each, and no error anywhere.
 */
import t from 'tap'
import { listPartitions } from '../../src/storage/partitions.js'
import { event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'
import { startServer, type ServerProcess } from '../helpers/server-process.js'

const db = await testDatabase(t)
const env = { DATABASE_URL: db.url, PARTITIONS_AHEAD: '5' }
// Started together, so their start-up maintenance runs race.
const servers = await Promise.all([startServer(env, 60_000), startServer(env, 60_000)])
t.teardown(() => { for (const server of servers) server.child.kill('SIGKILL') })

const errors = (server: ServerProcess): unknown[] => server.lines.filter(line => Number(line.level) >= 50)

t.test('both start, with the partitions ahead made once', async t => {
  const names = (await listPartitions(db.sql)).map(p => p.name)
  t.equal(names.length, 6, 'today and 5 ahead')
  t.equal(new Set(names).size, names.length)
  for (const server of servers) t.same(errors(server), [], 'no error logged')
})

t.test('the same missing partition, needed by both at once', async t => {
  const posts = []
  for (let i = 0; i < 20; i++) {
    const server = servers[i % 2]!
    posts.push(fetch(`${server.address}/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event({ user_id: 1 + i, session_id: 1 + i, timestamp: Date.parse('2019-04-0' + String(1 + i % 3) + 'T12:00:00Z') / 1000 }))
    }))
  }
  const statuses = await Promise.all(posts.map(async post => (await post).status))
  t.same(statuses, Array(20).fill(200), 'every event stored')
  const made = (await listPartitions(db.sql)).filter(p => p.name.startsWith('user_metrics_p201904')).map(p => p.name)
  t.same(made, ['user_metrics_p20190401', 'user_metrics_p20190402', 'user_metrics_p20190403'])
  t.same(await db.sql`select count(*)::int as n from user_metrics`, [{ n: 20 }])
  for (const server of servers) t.same(errors(server), [], 'no error logged')
})
