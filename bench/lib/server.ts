import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The compiled entry point: the same file `npm start` and the Docker image run. */
export const ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

export interface RunningServer {
  url: string
  child: ChildProcess
  stop: () => Promise<number | null>
}

export async function startService (env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  // LOG_LEVEL=warn hides the "listening" line, so ask the OS which port the child bound.
  const url = await new Promise<string>((resolve, reject) => {
    child.on('exit', code => { reject(new Error(`service exited with ${code}`)) })
    const poll = setInterval(() => {
      import('node:child_process').then(({ execFileSync }) => {
        const out = execFileSync('ss', ['-Htlnp'], { encoding: 'utf8' })
        const line = out.split('\n').find(l => l.includes(`pid=${child.pid},`))
        const port = line?.match(/127\.0\.0\.1:(\d+)/)?.[1]
        if (port !== undefined) { clearInterval(poll); resolve(`http://127.0.0.1:${port}`) }
      }).catch(reject)
    }, 100)
  })
  return {
    url,
    child,
    stop: async () => await new Promise(resolve => {
      child.removeAllListeners('exit')
      child.on('exit', code => { resolve(code) })
      child.kill('SIGTERM')
    })
  }
}
