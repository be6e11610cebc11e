"""A real ``redis-server`` (the Debian package) on a free loopback port, for the tests of
state on Redis.

Owns starting one server with nothing persisted, waiting until it answers PING (polled, with
a deadline), stopping it by its process id, and starting it again on the same port, so a
test can take Redis away mid-run and give it back. What the tests store in it is theirs.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = ["RedisServer", "redis_server", "redis_server_binary"]

HOST: Final = "127.0.0.1"
STARTUP_DEADLINE_SECONDS: Final = 15.0
EXIT_DEADLINE_SECONDS: Final = 10.0
POLL_INTERVAL_SECONDS: Final = 0.02


def redis_server_binary() -> str | None:
    """Where ``redis-server`` is; Debian puts it in /usr/bin, some images in /usr/sbin."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    for candidate in ("/usr/bin/redis-server", "/usr/sbin/redis-server"):
        if Path(candidate).is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port``; ``stop`` and ``start`` again keep
    the port, so clients configured with :attr:`url` reconnect to the new process."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port if port is not None else _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError("redis-server is already running")
        self._process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                # Nothing on disk: each start is empty, and nothing is left behind.
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while not _answers_ping(self.port):
            if self._process.poll() is not None:
                stderr = self._process.stderr.read() if self._process.stderr else b""
                self._process = None
                raise RuntimeError(f"redis-server exited at start: {stderr.decode()!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer PING in time")
            time.sleep(POLL_INTERVAL_SECONDS)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stops the process by its id (SIGKILL for a crash) and waits until it has gone."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started server, stopped when the block ends. No binary is an error, not a skip:
    ``./scripts/test`` installs the Debian package."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (./scripts/test installs it)")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
