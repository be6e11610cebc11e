"""Three ``ssemcp serve --state redis://…`` replicas behind a real nginx (plain round-robin),
with a real ``redis-server``, all on loopback, for the scale-out tests of issue #17.

Owns rendering what runs from the documented deployment, so the document and the test cannot
drift: each replica's command and environment come from docs/deploy/compose.yaml (only its
listen address and port, the Redis URL, the proxy and host names it trusts, and the secrets'
values change, each change checked to apply exactly once), and nginx's site from
docs/deploy/nginx-replicas.conf (its listen port and the replicas' addresses, each checked
likewise, plus the address it connects from and a response header naming the replica that
answered).
Starts and stops every process by its id, SIGKILLs one replica, stops and restarts Redis;
readiness is polled with a deadline. What the tests send through it is theirs.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import yaml
from redis_server import RedisServer, redis_server

__all__ = [
    "COMPOSE",
    "NGINX_REPLICAS",
    "PROXY_ADDRESS",
    "SERVED_BY",
    "STATE_KEY",
    "TOKEN",
    "Cluster",
    "Replica",
    "Running",
    "cluster",
    "free_port",
    "nginx_binary",
    "nginx_process",
    "render_replica_commands",
    "render_replicas_site",
    "replicas_behind_nginx",
]

REPOSITORY: Final = Path(__file__).resolve().parents[2]
COMPOSE: Final = REPOSITORY / "docs" / "deploy" / "compose.yaml"
NGINX_REPLICAS: Final = REPOSITORY / "docs" / "deploy" / "nginx-replicas.conf"
REPLICA_SERVER: Final = f"{Path(__file__).with_name('replica_server.py')}:server"
HOST: Final = "127.0.0.1"
# nginx connects to the replicas from this address (proxy_bind): the one they trust, as the
# compose file's replicas trust nginx's fixed address.
PROXY_ADDRESS: Final = "127.0.0.2"
# The secrets the compose file takes from the environment; the tests' own values.
TOKEN: Final = "scaleout-test-token-0123456789abcdef"
STATE_KEY: Final = "scaleout-state-key-0123456789abcdef"
# The response header the rendered site adds: the replica (address:port) that answered.
SERVED_BY: Final = "x-served-by"
STARTUP_DEADLINE_SECONDS: Final = 30.0
EXIT_DEADLINE_SECONDS: Final = 10.0
POLL_INTERVAL_SECONDS: Final = 0.02

# compose.yaml's replica command: option -> (the documented value, what the test puts there).
_COMMAND_CHANGES: Final = {
    "--host": ("0.0.0.0", HOST),
    "--port": ("8000", None),  # each replica's own free port
    "--state": ("redis://redis:6379/0", None),  # the test's redis-server
    "--trusted-proxy": ("172.28.0.10", PROXY_ADDRESS),
    "--allow-host": ("mcp.example.com", HOST),
}
_ENVIRONMENT: Final = {"SSEMCP_TOKEN": TOKEN, "SSEMCP_STATE_KEY": STATE_KEY}


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


@dataclass
class Running:
    """A process serving on ``url``, its log in ``log_path``."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _replica_services(compose: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    services = compose["services"]
    names = sorted(name for name in services if name.startswith("ssemcp-"))
    assert names == ["ssemcp-1", "ssemcp-2", "ssemcp-3"], f"compose.yaml has replicas {names}"
    return [services[name] for name in names]


def render_replica_commands(
    redis_url: str, ports: Sequence[int], *, in_memory: bool = False
) -> list[list[str]]:
    """Each replica's ``ssemcp serve`` arguments from compose.yaml, for loopback; with
    ``in_memory``, without ``--state`` (the reference the bench compares against).

    Raises:
        AssertionError: compose.yaml no longer has a changed option, with its documented
            value, exactly once.
    """
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = _replica_services(compose)
    assert len(ports) == len(services)
    commands = []
    for service, port in zip(services, ports, strict=True):
        command = [str(part) for part in service["command"]]
        assert command[0] == "serve", f"a replica's command is {command}"
        values = {"--port": str(port), "--state": redis_url}
        for option, (documented, replacement) in _COMMAND_CHANGES.items():
            assert command.count(option) == 1, f"compose.yaml no longer has {option} once"
            index = command.index(option) + 1
            assert command[index] == documented, f"compose.yaml: {option} {command[index]}"
            command[index] = replacement if replacement is not None else values[option]
        if in_memory:
            index = command.index("--state")
            del command[index : index + 2]
        commands.append(command)
    return commands


def replica_environment() -> dict[str, str]:
    """The environment compose.yaml gives each replica, with the tests' secrets."""
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    environments = [dict(service["environment"]) for service in _replica_services(compose)]
    for environment in environments:
        assert set(environment) == set(_ENVIRONMENT), f"compose.yaml environment {environment}"
        for name, value in environment.items():
            assert str(value).startswith(f"${{{name}:?"), f"compose.yaml: {name}={value}"
    return dict(_ENVIRONMENT)


def render_replicas_site(nginx_port: int, replica_ports: Sequence[int]) -> str:
    """nginx-replicas.conf pointed at these ports.

    Raises:
        AssertionError: a line the test changes is no longer in the document exactly once.
    """
    text = NGINX_REPLICAS.read_text(encoding="utf-8")
    changes = [
        ("listen 80;", f"listen {HOST}:{nginx_port};"),
        (
            "proxy_http_version 1.1;",
            f"proxy_http_version 1.1;\n        proxy_bind {PROXY_ADDRESS};\n"
            f"        add_header {SERVED_BY} $upstream_addr always;",
        ),
    ]
    changes += [
        (f"server ssemcp-{number}:8000;", f"server {HOST}:{port};")
        for number, port in enumerate(replica_ports, start=1)
    ]
    for old, new in changes:
        assert text.count(old) == 1, f"docs/deploy/nginx-replicas.conf no longer has {old!r} once"
        text = text.replace(old, new)
    return text


def _wait_until_healthy(running: Running, url: str) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while True:
            assert running.process.poll() is None, f"exited early:\n{running.log()}"
            with contextlib.suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"not healthy in time:\n{running.log()}"
            time.sleep(POLL_INTERVAL_SECONDS)


@dataclass
class Replica:
    """One ``ssemcp serve`` process; :attr:`address` is how nginx names it (host:port)."""

    arguments: list[str]
    port: int
    log_path: Path
    command_prefix: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self, environment: Mapping[str, str]) -> None:
        assert not self.running
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [*self.command_prefix, sys.executable, "-m", "ssemcp", *self.arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env=dict(environment),
            )
        _wait_until_healthy(Running(self.process, self.url, self.log_path), self.url + "/healthz")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stops the process by its id (SIGKILL: a crash) and waits until it has gone."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Cluster:
    """Redis, the replicas and nginx; :attr:`url` is nginx's base URL."""

    redis: RedisServer
    replicas: list[Replica]
    proxy: Running
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def mcp_url(self) -> str:
        return self.proxy.url + "/mcp"

    @property
    def sse_url(self) -> str:
        return self.proxy.url + "/sse"

    def replica_at(self, address: str) -> Replica:
        """The replica nginx names ``address`` (a :data:`SERVED_BY` value)."""
        [replica] = [replica for replica in self.replicas if replica.address == address]
        return replica

    def kill(self, replica: Replica) -> None:
        """SIGKILL: the replica dies mid-whatever, with no drain."""
        replica.stop(signal.SIGKILL)

    def restart(self, replica: Replica) -> None:
        replica.stop()
        replica.start(self.environment)

    def wait_until_nginx_uses_every_replica(self) -> None:
        """Polls ``/healthz`` through nginx until each replica has answered one: nginx leaves
        a replica it failed to reach alone for a while (``fail_timeout``, 10 s by default)."""
        wanted = {replica.address for replica in self.replicas}
        seen: set[str] = set()
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        with httpx.Client(timeout=1.0) as client:
            while seen != wanted:
                assert time.monotonic() < deadline, f"nginx used only {seen} of {wanted}"
                with contextlib.suppress(httpx.TransportError):
                    seen.add(client.get(self.url + "/healthz").headers.get(SERVED_BY, ""))
                seen &= wanted
                time.sleep(POLL_INTERVAL_SECONDS)

    def access_log(self) -> list[str]:
        """nginx's access log lines (the format :func:`cluster` sets: method, URI, status,
        upstream address), oldest first."""
        path = self.proxy.log_path.parent / "access.log"
        return path.read_text(encoding="utf-8").splitlines()

    def logs(self) -> str:
        return "\n".join(f"== {r.address}\n{r.log()}" for r in self.replicas)


def _environment(*, with_token: bool = True) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SSEMCP_") or name == "SSEMCP_VENV"
    }
    environment = {**inherited, **replica_environment(), "PYTHONUNBUFFERED": "1"}
    if not with_token:
        del environment["SSEMCP_TOKEN"]
    return environment


def _nginx_main_config(
    directory: Path, site: Path, worker_connections: int, keepalive_requests: int
) -> str:
    """A whole nginx.conf around the site, every path inside ``directory``; the access log
    names the replica of each request (method, URI, status, upstream address)."""
    # As root, nginx's workers would switch to an unprivileged user who cannot enter the
    # test's private temporary directory; keep them as the user running the test.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temporary = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
worker_rlimit_nofile {2 * worker_connections + 64};
error_log {directory / "error.log"} info;
events {{ worker_connections {worker_connections}; }}
http {{
    log_format replicas '$request_method $uri $status $upstream_addr';
    access_log {directory / "access.log"} replicas;
    keepalive_requests {keepalive_requests};
{temporary}
    include {site};
}}
"""


@contextlib.contextmanager
def nginx_process(
    directory: Path,
    site_text: str,
    nginx_port: int,
    *,
    worker_connections: int = 512,
    keepalive_requests: int = 1000,
    command_prefix: Sequence[str] = (),
) -> Iterator[Running]:
    """nginx serving ``site_text`` in the foreground, its pid file, logs and temporary files
    in ``directory``; ready once ``/healthz`` answers through it; stopped by pid.
    ``keepalive_requests`` is nginx's default (1 000 requests, then it closes a client's
    connection); the bench raises it, as its generators do not reconnect."""
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / "site.conf"
    site.write_text(site_text, encoding="utf-8")
    main_config = directory / "nginx.conf"
    main_config.write_text(
        _nginx_main_config(directory, site, worker_connections, keepalive_requests),
        encoding="utf-8",
    )
    log_path = directory / "nginx.stderr"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *command_prefix,
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
        _wait_until_healthy(running, running.url + "/healthz")
        yield running
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def replicas_behind_nginx(
    directory: Path,
    redis_url: str,
    target: str,
    *,
    count: int = 3,
    in_memory: bool = False,
    with_token: bool = True,
    extra_arguments: Sequence[str] = (),
    worker_connections: int = 512,
    keepalive_requests: int = 1000,
    command_prefix: Sequence[str] = (),
) -> Iterator[tuple[list[Replica], Running]]:
    """``count`` replicas (compose.yaml's commands, serving ``target``) on ``redis_url``, and
    nginx in front of them (nginx-replicas.conf, its other servers removed when ``count`` is
    under 3); every process stopped by its id when the block ends. ``in_memory`` leaves
    ``--state`` out, ``with_token=False`` SSEMCP_TOKEN (for the bench)."""
    directory.mkdir(parents=True, exist_ok=True)
    environment = _environment(with_token=with_token)
    ports = [free_port() for _ in range(3)]
    commands = render_replica_commands(redis_url, ports, in_memory=in_memory)[:count]
    replicas = [
        Replica(
            [*command, target, *extra_arguments],
            port,
            directory / f"replica-{port}.log",
            command_prefix=tuple(command_prefix),
        )
        for command, port in zip(commands, ports, strict=False)
    ]
    try:
        for replica in replicas:
            replica.start(environment)
        nginx_port = free_port()
        site = render_replicas_site(nginx_port, ports)
        for unused in ports[count:]:
            site = site.replace(f"    server {HOST}:{unused};\n", "", 1)
        with nginx_process(
            directory / "nginx",
            site,
            nginx_port,
            worker_connections=worker_connections,
            keepalive_requests=keepalive_requests,
            command_prefix=command_prefix,
        ) as proxy:
            yield replicas, proxy
    finally:
        for replica in replicas:
            replica.stop()


@contextlib.contextmanager
def cluster(directory: Path) -> Iterator[Cluster]:
    """Redis, three replicas serving :data:`REPLICA_SERVER` (compose.yaml's commands with
    that target), and nginx in front (nginx-replicas.conf)."""
    with (
        redis_server() as redis,
        replicas_behind_nginx(directory, redis.url, REPLICA_SERVER) as (replicas, proxy),
    ):
        yield Cluster(redis, replicas, proxy, _environment())
