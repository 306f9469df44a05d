# The Meridian runtime image: every runtime service (escrow, rate limit, proof log, clock) in one image;
# the Deployment's args choose which one a pod runs (e.g. `meridian escrow serve ...`).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY model ./model
COPY runtime ./runtime
COPY stacks ./stacks
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "bin/meridian.mjs"]
CMD ["--help"]
