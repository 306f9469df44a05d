# The Meridian runtime image: every runtime service (escrow, rate limit, proof log, clock) in one image;
# the Deployment's args choose which one a pod runs (e.g. `escrow serve --config /etc/meridian/escrow/escrow.json`).
# Compiled JavaScript and the production dependencies the runtime imports (bin/build-runtime.mjs writes
# that package.json) — no Pulumi SDK, no tsx, no npm `node` package, no stack files: a pod runs from its
# mounted ConfigMap. Deployments pin the pushed image by digest (meridian:runtime.image).

# Build: the full toolchain compiles; nothing from this stage but the app directory is kept.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY cli ./cli
COPY model ./model
COPY runtime ./runtime
COPY stacks ./stacks
RUN node bin/build-runtime.mjs /app

# SPIRE's meridian_attest NodeAttestor plugins (runtime/attest/spire-plugin), built offline the way CI builds them:
# Debian's Go toolchain and libraries in GOPATH mode (golang/protobuf 1.5: gRPC must marshal APIv2 messages). Only
# the two plugin binaries and their SHA256SUMS are kept; components/pki/spire-attest.ts copies them into SPIRE's pods from /app/spire-plugins.
FROM debian:bookworm-slim AS spire-plugins
RUN apt-get update && apt-get install -y --no-install-recommends golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc \
      golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev \
      golang-github-hashicorp-go-plugin-dev golang-github-hashicorp-hcl-dev tpm2-tools && rm -rf /var/lib/apt/lists/*
COPY runtime/attest/spire-plugin /src/spire-plugin
RUN /src/spire-plugin/build.sh /out
# tpm2_quote with its loader and libraries for the agent plugin (tpm2_tools_dir): SPIRE's agent image has no libc.
RUN /src/spire-plugin/tpm2-closure.sh /out/tpm2

# Production dependencies of the runtime only, at the versions package-lock.json pins.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY --from=build /app/package.json ./
COPY package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts && rm package-lock.json

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# The node time daemons run from this image, pinned by the same digest as every Meridian pod (no third-party
# image): chronyd, and chronyc for the node time agent (`meridian time agent`), from Debian's chrony; ptp4l and
# phc2sys from Debian's linuxptp where a PTP network exists (components/time). Nothing starts them here.
RUN apt-get update && apt-get install -y --no-install-recommends chrony linuxptp && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
COPY --from=deps /app/node_modules ./node_modules
# SHA256SUMS: the plugin_checksum values a stack pinning this image sets (runtime.attest.pluginChecksums).
COPY --from=spire-plugins /out/bin/meridian_attest /out/bin/meridian_attest_agent /out/bin/SHA256SUMS ./spire-plugins/
COPY --from=spire-plugins /out/tpm2 ./spire-plugins/tpm2
USER node
EXPOSE 8080 8081 9090
ENTRYPOINT ["node", "cli/main.js"]
CMD ["--help"]
