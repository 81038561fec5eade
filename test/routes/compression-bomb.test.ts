import { request } from 'node:http'
import { createGzip } from 'node:zlib'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

/** Gzip of `size` zero bytes, made in 1 MiB chunks so the test never holds the inflated form. */
async function gzipOfZeros (size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 })
  const out: Buffer[] = []
  gzip.on('data', (chunk: Buffer) => out.push(chunk))
  const done = new Promise(resolve => gzip.on('end', resolve))
  const chunk = Buffer.alloc(1024 * 1024)
  for (let written = 0; written < size; written += chunk.length) {
    if (!gzip.write(chunk)) await new Promise(resolve => gzip.once('drain', resolve))
  }
  gzip.end()
  await done
  return Buffer.concat(out)
}

t.test('a gzip bomb (1 MB inflating to 1 GiB) is refused with 413 without being inflated', async t => {
  const db = await testDatabase(t)
  const { app } = await buildTestApp(t, db.url)
  const address = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  const bomb = await gzipOfZeros(1024 ** 3)
  t.ok(bomb.length < 2 * 1024 * 1024, `the bomb is small on the wire: ${bomb.length} bytes`)

  globalThis.gc?.()
  const before = process.memoryUsage()
  const { status, body } = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request({
      host: address.hostname,
      port: address.port,
      method: 'POST',
      path: '/data/batch',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length }
    }, res => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
    })
    // The server may answer and close before the whole upload is sent.
    req.on('error', reject)
    req.end(bomb)
  })
  const after = process.memoryUsage()
  t.equal(status, 413, body)
  t.match(JSON.parse(body), { status: 'error', statusCode: 413 })
  const grown = (after.rss - before.rss) / 1024 ** 2
  t.ok(grown < 64, `resident memory grew by ${grown.toFixed(1)} MiB, nowhere near the 1 GiB the body inflates to`)
  t.ok(after.arrayBuffers - before.arrayBuffers < 64 * 1024 ** 2, 'no large buffer left allocated')
})
