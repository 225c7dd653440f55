# Multi-stage build: a Node image fetches the pinned Deno from npm (tools/package-lock.json), caches
# only the runtime's npm packages (deno.lock; no test servers or code generators), `deno compile`
# builds one self-contained binary, and a minimal glibc runtime image ships only that binary.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY tools/package.json tools/package-lock.json tools/
RUN npm ci --prefix tools --no-audit --no-fund
COPY . .
RUN tools/node_modules/.bin/deno cache --frozen cli/main.ts
# deno compile downloads its runtime (denort) here; offline builds can pass DENORT_BIN instead.
ARG DENORT_BIN
ENV DENORT_BIN=${DENORT_BIN}
# The binary's Deno permissions are the compile task's (deno.json, README "Single binary"): paths,
# ports and endpoints are chosen at run time, so the container's mounts and network bound them.
RUN tools/node_modules/.bin/deno task compile && ./parquet-gateway --version

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/parquet-gateway /bin/parquet-gateway
# Prometheus HTTP API, Thanos gRPC, internal (metrics, health, profiles).
EXPOSE 9000 9001 6060
ENTRYPOINT ["/bin/parquet-gateway"]
# Serves the bucket described by a mounted objstore YAML (its `$(NAME)` references read the
# container's environment, e.g. credentials); label files are cached in the image's /tmp. Any
# other flags replace this command: `docker run IMAGE serve --objstore.config=...`.
CMD ["serve", "--objstore.config-file=/etc/parquet-gateway/objstore.yaml"]
