# syntax=docker/dockerfile:1
# The projector image. Build from the repository root:
#   docker build -f docker/projector.Dockerfile -t usertags/projector .
# Node 24 runs the TypeScript sources directly (type stripping), so nothing is
# compiled; the image holds the sources of projector and of the workspace
# packages it imports, and their production dependencies only.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
# The pnpm of package.json's packageManager.
ARG PNPM_VERSION=10.34.8
RUN npm install --global --no-fund --no-audit pnpm@${PNPM_VERSION}
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches/ patches/
COPY contracts/package.json contracts/
COPY runtime/package.json runtime/
COPY read-models/package.json read-models/
COPY event-log/package.json event-log/
COPY projector/package.json projector/
# Production dependencies of projector and the workspace packages it imports,
# from the lockfile. Not `pnpm deploy`: it copies workspace packages into
# node_modules, and Node refuses to strip types from .ts files under
# node_modules; a filtered install keeps them as symlinks to their folders.
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --prod --config.package-import-method=copy --filter '@usertags/projector...'
# The Aerospike client ships prebuilt bindings for several Node versions; keep this one's.
RUN keep="node-v$(node -p process.versions.modules)-linux-$(node -p process.arch)" \
  && for d in node_modules/.pnpm/aerospike@*/node_modules/aerospike/lib/binding/*/; do \
       [ "$(basename "$d")" = "$keep" ] || rm -rf "$d"; \
     done
COPY contracts/src/ contracts/src/
COPY runtime/src/ runtime/src/
COPY read-models/src/ read-models/src/
COPY event-log/src/ event-log/src/
COPY projector/src/ projector/src/

FROM ${NODE_IMAGE} AS runtime
# The Aerospike client's prebuilt binding links libyaml (and zlib, already there).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libyaml-0-2 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=8082
WORKDIR /app
# Owned by root and read-only to the program; only data/ (the embedded profile
# store's default place) is writable.
COPY --from=deps /src/package.json ./
COPY --from=deps /src/node_modules/ node_modules/
COPY --from=deps /src/contracts/ contracts/
COPY --from=deps /src/runtime/ runtime/
COPY --from=deps /src/read-models/ read-models/
COPY --from=deps /src/event-log/ event-log/
COPY --from=deps /src/projector/ projector/
RUN mkdir data && chown node:node data
USER node
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--import", "./projector/src/register.ts", "projector/src/main.ts"]
