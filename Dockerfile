# Production image: the web app (or `stockline worker`) configured by environment, e.g.
#   STOCKLINE_DATABASE_URL=postgresql://user@db:5432/stockline STOCKLINE_REDIS_URL=redis://redis:6379/0
# The install step is scripts/install, the same one the README's commands run (CI exercises it).
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY backend ./backend
COPY jobs ./jobs
COPY sync ./sync
COPY web ./web
RUN bash scripts/install && useradd --system stockline && mkdir -p var && chown stockline var
USER stockline
ENV PATH="/app/.venv/bin:$PATH" STOCKLINE_HOST=0.0.0.0 STOCKLINE_PORT=8000
EXPOSE 8000
# Run `stockline migrate` once per release (e.g. a release job), then start web and worker containers.
CMD ["stockline", "serve"]
