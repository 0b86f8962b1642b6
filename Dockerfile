# The arena server against external PostgreSQL and Redis (see docker-compose.yml).
FROM node:20-slim AS static
WORKDIR /src/static
COPY static/package.json static/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY sql ./sql
COPY examples ./examples
COPY clients ./clients
# The server, and the client package its --demo agents are written on.
RUN pip install --no-cache-dir . ./clients/python
COPY static ./static
COPY --from=static /src/static/node_modules ./static/node_modules
RUN useradd --system --home /app arena && chown -R arena /app
USER arena
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz').status != 200)"
CMD ["arena", "serve", "--host", "0.0.0.0", "--port", "8080"]
