import fp from 'fastify-plugin'
import type { Sql } from './client.js'

declare module 'fastify' {
  interface FastifyInstance {
    sql: Sql
  }
}

/**
 * Registered first, so its onClose runs last (Fastify runs them last-registered-first):
 * the ingest plugin's final flush always has a pool to write with.
 */
export const databasePlugin = fp<{ sql: Sql }>(async (app, { sql }) => {
  app.decorate('sql', sql)
  app.addHook('onClose', async () => {
    await sql.end({ timeout: 5 })
  })
}, { name: 'database' })
