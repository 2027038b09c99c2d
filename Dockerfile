# One image for the worker and the API (docker-compose.yml picks the command): the TypeScript
# runs through tsx, a runtime dependency, so no build step and no dev dependencies are needed.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
USER node
# tsx directly, not npm: npm does not pass SIGTERM on, and the worker must drain on docker stop.
# The API: ./node_modules/.bin/tsx src/http/main.ts (port 3000).
EXPOSE 3000
CMD ["./node_modules/.bin/tsx", "workers/main.ts"]
