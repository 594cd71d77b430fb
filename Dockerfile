# syntax=docker/dockerfile:1
# Build stage: native modules (better-sqlite3) compile here with the toolchain.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY views ./views
COPY metadata ./metadata

# Runtime stage: no compilers, non-root, data and keys on volumes.
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080 DATABASE_URL=sqlite:/data/fedbridge.db FEDBRIDGE_CERTS_DIR=/keys
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data /keys && chown node:node /data /keys
USER node
VOLUME ["/data", "/keys"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# tsx is a runtime dependency: TypeScript runs as shipped, no build output to drift from src/.
CMD ["node", "--import", "tsx", "src/main.ts"]
