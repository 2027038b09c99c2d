# One image for the worker and the API (docker-compose.yml picks the command). The worker runs
# as one bundled JavaScript file built here (npm run build: esbuild, a runtime dependency, as is
# tsx, which runs the API's TypeScript directly); no dev dependencies are needed.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
RUN npm run build
USER node
# node directly, not npm: npm does not pass SIGTERM on, and the worker must drain on docker stop.
# The same command line as `npm run start:worker` (README "Decisions" says why the heap flag).
# The API: ./node_modules/.bin/tsx src/http/main.ts (port 3000).
EXPOSE 3000
CMD ["node", "--max-old-space-size=1024", "--enable-source-maps", "dist/workers/main.js"]
