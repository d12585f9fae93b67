# The operator's image: `telemetry-stack operator` on Node 24, as a non-root user.
#   docker build -t ghcr.io/telemetry-stack/telemetry-stack:0.1.0 .
# Base images are pinned by exact tag (add @sha256 digests when publishing from CI).
# The version must match OPERATOR_IMAGE in src/charts/install/install-chart.ts.

# ---- build: compile src/ to build/ with the dev dependencies (TypeScript)
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the lock file rather than `npm ci`: chdb's per-platform optional packages are
# only published for linux-x64, so the lock file lacks the others and `npm ci` rejects it (see test.sh).
# --ignore-scripts: the `node` devDependency would download a second Node; the image has one.
# --omit=optional: the compiler needs chdb's types, not its engine library (over 500 MB).
RUN npm install --omit=optional --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json

# ---- runtime: production dependencies and the compiled JavaScript only
FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional leaves out chdb's engine library (@chdb/lib-*, over 500 MB): the operator talks
# to a ClickHouse server; only the embedded target (tests, local tools) loads chdb, lazily.
RUN npm install --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/build ./build
COPY crds ./crds
# The query library: `report` and the Grafana dashboards (spec.grafana) read it at run time.
COPY queries ./queries
# 1000 is the `node` user of the official image (OPERATOR_UID in the install chart).
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "/app/build/cli/main.js"]
CMD ["operator"]
