# ssemcp in a container: a slim Python, an unprivileged user, a health check.
#
#   docker build -t ssemcp .
#   docker run -p 8000:8000 -e SSEMCP_TOKEN=your-long-random-token ssemcp
#   docker run -i --rm ssemcp stdio            # for a client that starts it over stdio
#
# The default command listens on every interface of the container, so it requires a token
# (-e SSEMCP_TOKEN=...; several, comma-separated, rotate). Clients that reach it by a name
# other than localhost need it allowed: ... ssemcp serve --host 0.0.0.0 --allow-host NAME,
# or a configuration file: -v ./ssemcp.toml:/etc/ssemcp/ssemcp.toml -e SSEMCP_CONFIG=/etc/ssemcp/ssemcp.toml
# The image has the redis extra (the `redis` client, a few hundred KiB), so the same image
# runs one replica in memory or several on Redis (--state redis://...; docs/deploy/compose.yaml).
# tests/deploy/test_deployment_files.py checks this file (no container runtime on CI).

FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[redis]'

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ssemcp
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'ssemcp[redis]' && rm -rf /wheels
USER 10001:10001
EXPOSE 8000
# The image has no curl: Python asks /healthz, which needs no token. It asks port 8000: a
# command that serves on another --port needs its own --health-cmd at docker run.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["ssemcp"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
