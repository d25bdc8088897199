# One image for every process of the stack: the API (`bun run start`, the default command), the worker
# (`bun run worker`), the migration (`bun run migrate`) and the operations CLI (`bun run cli …`).
# docker-compose.yml builds it once and runs it as migrate, api and worker.
#
# The build context is only what this file copies (see .dockerignore). tests/unit/docker.test.ts
# walks the imports of server/main.ts, worker/main.ts, scripts/migrate.ts and scripts/cli.ts and the
# files they read (core/db/migrations, core/redis/scripts/*.lua, web/) to keep the list below complete.
FROM oven/bun:1.4 AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY core ./core
COPY server ./server
COPY worker ./worker
# The web client at / is bundled when the API starts (server/features/web/build.ts): its source and
# the SDK's, which web/tsconfig.json maps @chat-backend/sdk to.
COPY web ./web
COPY sdk/src ./sdk/src
COPY scripts/migrate.ts ./scripts/migrate.ts
COPY scripts/cli.ts ./scripts/cli.ts
USER bun
EXPOSE 3000
CMD ["bun", "server/main.ts"]
