# Build stage: install the project into a virtualenv the same way the README does.
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /app/.venv
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY prompts ./prompts
RUN /app/.venv/bin/pip install --no-cache-dir -q .

# Runtime stage: the virtualenv and the templates, run as an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 cop
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/prompts /app/prompts
COPY --from=build /app/bot /app/bot
COPY --from=build /app/handlers /app/handlers
COPY --from=build /app/storage /app/storage
RUN mkdir -p /app/data && chown cop:cop /app/data
USER cop
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////app/data/cop.sqlite
VOLUME ["/app/data"]
CMD ["python", "-m", "bot", "run"]
