# Tusk's processes in one image: the API and every worker (each container runs one of them; see
# docker-compose.yml). Dependencies are installed from the lock file inside the build, so native
# modules (DuckDB, libsql, the Temporal core bridge) match the image, not the host.

# 1. Dependencies, with the toolchain a native module may need to build.
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-fund --no-audit

# 2. The runtime: no compilers, no dev dependencies, not root.
FROM node:20-bookworm-slim AS runtime
# apt-get and friends: the settlement worker's Aztec toolchain (scripts/aztec/setup.sh) unpacks
# Debian packages privately under its cache; ca-certificates for the registries it fetches from.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates xz-utils \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  TUSK_HOME=/tusk \
  XDG_CACHE_HOME=/cache \
  TUSK_API_HOST=0.0.0.0 \
  TUSK_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY activities ./activities
COPY api ./api
COPY audit ./audit
COPY cli ./cli
COPY contracts ./contracts
COPY lib ./lib
COPY sdk ./sdk
COPY query-policies ./query-policies
COPY scripts ./scripts
COPY stack ./stack
COPY workers ./workers
COPY workflows ./workflows
RUN mkdir -p /tusk /cache && chown node:node /tusk /cache
USER node
# The API; workers serve /metrics and /health on TUSK_METRICS_PORT.
EXPOSE 8787 9470
CMD ["node", "--import", "tsx", "api/server.ts"]
