# syntax=docker/dockerfile:1
# Production image of pkgway (see README "Docker"). The build stage installs the runtime dependencies (with
# the compilers better-sqlite3 falls back to when no prebuilt binary fits) and compiles the sources into dist/;
# the runtime stage carries only node_modules, dist/ and bin/, owned by root and run by the unprivileged `node`
# user.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Dependencies first (a layer that survives source changes); their install scripts run in the rebuild, the
# project's own prepare (the build) once the sources are there.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 esbuild
COPY . .
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    PKGWAY_HOST=0.0.0.0 \
    PKGWAY_PORT=8080 \
    PKGWAY_DATA_DIR=/var/lib/pkgway
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN mkdir -p /var/lib/pkgway && chown node:node /var/lib/pkgway
USER node
VOLUME /var/lib/pkgway
EXPOSE 8080
# Readiness, not liveness: an instance whose catalog is down turns unhealthy and leaves the load balancer's
# rotation, and comes back on its own when the catalog does.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PKGWAY_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/pkgway.js", "serve"]
