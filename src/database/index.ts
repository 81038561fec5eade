import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import { connect, describeUrl, type Sql } from './client.js'
import { startEmbeddedPostgres } from './embedded.js'
import { migrate } from './migrate.js'

export interface Database {
  sql: Sql
  /** Ends the pool (if the app has not already) and stops the embedded server, if one was started. */
  close: () => Promise<void>
}

/** The pool the flushes need, plus one connection for health checks and migrations. */
export function poolSize (config: Config): number {
  return config.FLUSH_CONCURRENCY + 1
}

/** DATABASE_URL when set, otherwise the embedded PostgreSQL; migrated and ready to write. */
export async function openDatabase (config: Config, log: FastifyBaseLogger): Promise<Database> {
  let url = config.DATABASE_URL
  let stopEmbedded = async (): Promise<void> => {}
  if (url === undefined) {
    const embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_PG_DIR,
      port: config.EMBEDDED_PG_PORT,
      database: 'metrics',
      log
    })
    url = embedded.url
    stopEmbedded = embedded.stop
  } else {
    log.info({ database: describeUrl(url) }, 'using DATABASE_URL')
  }
  const sql = connect(url, { max: poolSize(config), log })
  try {
    await migrate(sql, log)
  } catch (err) {
    await sql.end({ timeout: 1 })
    await stopEmbedded()
    throw err
  }
  return {
    sql,
    close: async () => {
      await sql.end({ timeout: 5 })
      await stopEmbedded()
    }
  }
}
