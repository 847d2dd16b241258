# Production image: `stockline serve` (default) or `stockline worker`, configured by environment.
# compose.yaml runs the production shape (PostgreSQL, Redis, web, worker); docs/operations.md explains it.
# The install step is scripts/install, the same one the README's commands run (CI exercises it).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY backend ./backend
COPY jobs ./jobs
COPY sync ./sync
COPY web ./web
# A fixed non-root uid, so a mounted volume's owner is predictable (chown -R 10001 on the host).
RUN bash scripts/install \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin stockline \
 && mkdir -p /app/var && chown stockline:stockline /app/var
ENV PATH="/app/.venv/bin:$PATH" STOCKLINE_HOST=0.0.0.0 STOCKLINE_PORT=8000
# SQLite (the default, one store): the database file and the generated CSRF secret live here.
VOLUME ["/app/var"]
USER stockline
EXPOSE 8000
# Ready = the database answers, every migration is applied, Redis (when set) answers (GET /readyz).
# The worker container replaces it with `stockline worker --check` (compose.yaml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["stockline", "probe"]
# Migrates (under a database lock: safe with several replicas), then runs the command.
ENTRYPOINT ["/app/scripts/entrypoint"]
CMD ["serve"]
