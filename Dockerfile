# t2t worker image for production. Build: docker build -t t2t .
# Debian (glibc) base: Temporal's native core-bridge has no musl build, so Alpine does not work.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    T2T__LOG__FORMAT=json \
    T2T__ARTIFACTS__ROOT=/var/lib/t2t/artifacts
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/runbooks ./runbooks
COPY --from=build /app/package.json ./package.json
RUN useradd --system --uid 10001 t2t && mkdir -p /var/lib/t2t/artifacts && chown -R t2t /var/lib/t2t
USER t2t
VOLUME ["/var/lib/t2t"]
ENTRYPOINT ["node", "bin/t2t.js"]
CMD ["worker"]
