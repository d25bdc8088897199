# API and worker image (the same image runs `bun run start`, `bun run worker` or `bun run migrate`).
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
COPY scripts/migrate.ts ./scripts/migrate.ts
USER bun
EXPOSE 3000
CMD ["bun", "server/main.ts"]
