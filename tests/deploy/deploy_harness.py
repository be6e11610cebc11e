"""A real nginx in front of a real ``ssemcp serve --config``, both on loopback, for the
deployment tests.

Owns rendering nginx's configuration from the documented one (docs/deploy/nginx.conf, with
only its ports, its read timeout and the address it connects from changed, each change
checked to apply exactly once, so the document and the test cannot drift), starting both
processes, waiting until each answers (polled, with a deadline), and stopping each by its
process id. What the tests send through them is theirs.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

__all__ = [
    "NGINX_SITE",
    "PREFIX",
    "PROXY_ADDRESS",
    "Running",
    "free_port",
    "nginx",
    "render_site",
    "ssemcp_serve",
]

REPOSITORY: Final = Path(__file__).resolve().parents[2]
NGINX_SITE: Final = REPOSITORY / "docs" / "deploy" / "nginx.conf"
HOST: Final = "127.0.0.1"
# nginx connects to ssemcp from this loopback address (proxy_bind), so that ssemcp can trust
# nginx alone while the tests' direct requests come from 127.0.0.1, an untrusted peer.
PROXY_ADDRESS: Final = "127.0.0.2"
# The prefix the documented configuration serves ssemcp under.
PREFIX: Final = "/tools"
# Starting Python, ssemcp and its tool set takes seconds on a loaded machine; nginx, less.
STARTUP_DEADLINE_SECONDS: Final = 30.0
EXIT_DEADLINE_SECONDS: Final = 10.0
POLL_INTERVAL_SECONDS: Final = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def nginx_binary() -> str:
    """nginx's path: on PATH, or where Debian puts it (/usr/sbin, not on a user's PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    assert found is not None, "nginx is not installed: scripts/test installs it (apt-get)"
    return found


def render_site(
    nginx_port: int,
    ssemcp_port: int,
    *,
    read_timeout: str = "2s",
    replacements: Sequence[tuple[str, str]] = (),
) -> str:
    """The documented site configuration, pointed at these ports.

    Raises:
        AssertionError: a line the test changes is no longer in the document exactly once.
    """
    text = NGINX_SITE.read_text(encoding="utf-8")
    for old, new in (
        ("listen 80;", f"listen {HOST}:{nginx_port};"),
        ("server 127.0.0.1:8000;", f"server {HOST}:{ssemcp_port};"),
        ("proxy_read_timeout 1h;", f"proxy_read_timeout {read_timeout};"),
        (
            "proxy_http_version 1.1;",
            f"proxy_http_version 1.1;\n        proxy_bind {PROXY_ADDRESS};",
        ),
        *replacements,
    ):
        assert text.count(old) == 1, f"docs/deploy/nginx.conf no longer has {old!r} once"
        text = text.replace(old, new)
    return text


def _main_config(directory: Path, site: Path) -> str:
    """A whole nginx.conf around the site: every path inside ``directory``."""
    # As root, nginx's workers would switch to an unprivileged user who cannot enter the
    # test's private temporary directory; keep them as the user running the test.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temporary = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
error_log {directory / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {directory / "access.log"};
{temporary}
    include {site};
}}
"""


@dataclass
class Running:
    """A process serving on ``url`` (``http://127.0.0.1:<port>``), its log in ``log_path``."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_until_healthy(running: Running, health_url: str) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while True:
            assert running.process.poll() is None, f"exited early:\n{running.log()}"
            with contextlib.suppress(httpx.TransportError):
                if client.get(health_url).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"not healthy in time:\n{running.log()}"
            time.sleep(POLL_INTERVAL_SECONDS)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def ssemcp_serve(directory: Path, config: str, *arguments: str) -> Iterator[Running]:
    """``python -m ssemcp serve --config FILE --port P ARGUMENTS`` with ``config`` as FILE's
    text; ready once /healthz answers; stopped with SIGTERM by pid."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = directory / "ssemcp.toml"
    config_path.write_text(config, encoding="utf-8")
    log_path = directory / "ssemcp.log"
    environment: Mapping[str, str] = {
        **{k: v for k, v in os.environ.items() if k not in ("SSEMCP_TOKEN", "SSEMCP_CONFIG")},
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "ssemcp", "serve", "--config", str(config_path)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=environment,
        )
    running = Running(process, f"http://{HOST}:{port}", log_path)
    try:
        _wait_until_healthy(running, running.url + "/healthz")
        yield running
    finally:
        _stop(process)


@contextlib.contextmanager
def nginx(directory: Path, site_text_for_port: str, nginx_port: int) -> Iterator[Running]:
    """nginx serving the site ``site_text_for_port`` (rendered for ``nginx_port``) in the
    foreground, its pid file, logs and temporary files in ``directory``; ready once
    ``/tools/healthz`` answers through it; stopped with SIGTERM by pid."""
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / "ssemcp-site.conf"
    site.write_text(site_text_for_port, encoding="utf-8")
    main_config = directory / "nginx.conf"
    main_config.write_text(_main_config(directory, site), encoding="utf-8")
    log_path = directory / "nginx.stderr"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                nginx_binary(),
                "-e",
                "stderr",
                "-p",
                str(directory),
                "-c",
                str(main_config),
                "-g",
                f"daemon off; pid {directory / 'nginx.pid'};",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    running = Running(process, f"http://{HOST}:{nginx_port}", log_path)
    try:
        _wait_until_healthy(running, running.url + PREFIX + "/healthz")
        yield running
    finally:
        _stop(process)
