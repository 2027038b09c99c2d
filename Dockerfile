# Image for the worker (and, later, the API): the TypeScript runs through tsx, a runtime
# dependency, so no build step and no dev dependencies are needed.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
USER node
# tsx directly, not npm: npm does not pass SIGTERM on, and the worker must drain on docker stop.
CMD ["./node_modules/.bin/tsx", "workers/main.ts"]
