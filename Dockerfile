# One image, every component: `nozzle worker`, `nozzle activator`,
# `nozzle publish --once`, `nozzle setup` (the Deployment/Job args pick one).
# test/e2e/image.test.ts runs these same steps without a Docker engine and
# starts each component from the result.

# Build: dev dependencies and the TypeScript compiler, runtime sources only.
FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY lib lib
COPY worker worker
COPY publisher publisher
COPY activator activator
COPY rescaler-web rescaler-web
RUN npx tsc -p tsconfig.build.json

# Production dependencies only.
FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
# The node image's unprivileged user (uid 1000): runAsNonRoot holds.
USER 1000:1000
# Node runs as PID 1. PID 1 gets no default signal handlers, so nozzle
# installs its own for SIGTERM/SIGINT (graceful shutdown), and it starts no
# child processes that would need reaping: no init process is needed.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
