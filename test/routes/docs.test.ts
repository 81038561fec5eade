import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const db = await testDatabase(t)
const { app } = await buildTestApp(t, db.url, { INGEST_API_KEYS: 'k' })

t.test('OpenAPI documents both ingest routes: request, every response code, an example', async t => {
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200, 'downloadable as JSON')
  const spec = res.json()
  t.match(spec, { openapi: /^3\./, info: { title: 'metrics-ingest' } })
  for (const path of ['/data', '/data/batch']) {
    const post = spec.paths[path]?.post
    t.ok(post, `${path} is documented`)
    t.ok(post.requestBody.content['application/json'].schema, `${path} documents its body`)
    for (const code of ['200', '202', '400', '401', '413', '415', '429', '503']) {
      t.ok(post.responses[code], `${path} documents ${code}`)
    }
    const example = post.requestBody.content['application/json'].example ?? post.requestBody.content['application/json'].examples ??
      post.requestBody.content['application/json'].schema.examples ?? post.requestBody.content['application/json'].schema.items?.examples
    t.ok(example, `${path} carries an example request`)
  }
  t.ok(spec.paths['/data'].post.responses['409'], '/data documents the session conflict')
  t.same(spec.paths['/data'].post.security, [{ bearer: [] }], 'bearer auth is documented on the ingest routes when keys are on')
  t.same(spec.paths['/data/batch'].post.security, [{ bearer: [] }])
  t.equal(spec.paths['/healthz'].get.security, undefined, 'and not on the open routes')
  t.equal(spec.security, undefined)
})

t.test('/docs serves the browsable UI', async t => {
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
  const unauthorized = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(unauthorized.statusCode, 200, 'the docs are not behind ingest keys')
})
