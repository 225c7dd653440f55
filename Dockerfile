# Multi-stage build: a Node image fetches the pinned Deno from npm, `deno compile` builds one
# self-contained binary, and a minimal glibc runtime image ships only that binary.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json deno.json deno.lock ./
RUN npm ci --no-audit --no-fund && node_modules/.bin/deno install --frozen
COPY . .
# deno compile downloads its runtime (denort) here; offline builds can pass DENORT_BIN instead.
ARG DENORT_BIN
ENV DENORT_BIN=${DENORT_BIN}
RUN node_modules/.bin/deno task compile && ./parquet-gateway --version

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/parquet-gateway /bin/parquet-gateway
# Prometheus HTTP API, Thanos gRPC, internal (metrics, health).
EXPOSE 9000 9001 6060
ENTRYPOINT ["/bin/parquet-gateway"]
CMD ["serve", "--help"]
