# syntax=docker/dockerfile:1
# Build stage: build the wheel and install it with its runtime dependencies into a venv.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/ticketbot
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY blocks ./blocks
RUN /opt/ticketbot/bin/pip install .

# Runtime stage: the venv only (no build tools, no dev extras, no sources), as a non-root user
# with a numeric id (≥ 10000, so it is no user of the host; the kubelet can check runAsNonRoot).
FROM python:3.11-slim
RUN groupadd --system --gid 10001 ticketbot \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin ticketbot
COPY --from=build /opt/ticketbot /opt/ticketbot
ENV PATH=/opt/ticketbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORT=3000
USER 10001:10001
EXPOSE 3000
# Secrets (SLACK_*, TRUTO_API_TOKEN, …) come from the environment at run time, never the image.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=2)"]
CMD ["ticketbot", "serve"]
