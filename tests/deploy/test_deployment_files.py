"""The Dockerfile, .dockerignore and docs/deploy/ssemcp.service, checked without a container
runtime (CI machines have none, so the image is never built here).

The Dockerfile is parsed for what the image must have (a slim Python base, a non-root user,
EXPOSE, a HEALTHCHECK on /healthz, ``ENTRYPOINT ["ssemcp"]``), and the commands it names are
run for real: its CMD through ``ssemcp serve``'s own parser (refused without a token, served
with one), ``stdio`` as ``docker run -i`` would run it, and its HEALTHCHECK command against a
live ``ssemcp serve``. The systemd unit is checked by ``systemd-analyze verify`` and its
offline security score, and its ExecStart by ``serve``'s parser.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

import pytest
from click.testing import CliRunner
from deploy_harness import REPOSITORY, ssemcp_serve

from ssemcp.cli import main, serve
from ssemcp.config import example_config
from ssemcp.http import uvicorn_server

DOCKERFILE: Final = REPOSITORY / "Dockerfile"
DOCKERIGNORE: Final = REPOSITORY / ".dockerignore"
UNIT: Final = REPOSITORY / "docs" / "deploy" / "ssemcp.service"
TOKEN: Final = "deploy-files-token-0123456789"
INITIALIZE: Final = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "deploy-files", "version": "1"},
    },
}
# systemd-analyze security rates a unit's exposure from 0 (locked down) to 10 (none of the
# protections), shown times 10 by --threshold; the unit scores 1.5 with systemd 252.
MAX_EXPOSURE: Final = 20


# -- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    instructions = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def only(stage: list[tuple[str, str]], name: str) -> str:
    found = [arguments for instruction, arguments in stage if instruction == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) argument list; the shell form would put a shell in between
    and keep ssemcp from getting SIGTERM."""
    value = json.loads(arguments)
    assert isinstance(value, list), arguments
    assert all(isinstance(item, str) for item in value)
    return value


def image_command(*arguments: str) -> list[str]:
    """What ``docker run IMAGE ARGUMENTS`` runs (ENTRYPOINT + ARGUMENTS or CMD) as argv."""
    stage = final_stage()
    entrypoint = exec_form(only(stage, "ENTRYPOINT"))
    return [*entrypoint, *(arguments or exec_form(only(stage, "CMD")))]


def as_local_process(argv: list[str]) -> list[str]:
    """``argv`` with the image's ``ssemcp`` or ``python`` run by this interpreter."""
    if argv[0] == "ssemcp":
        return [sys.executable, "-m", "ssemcp", *argv[1:]]
    assert argv[0] == "python", argv
    return [sys.executable, *argv[1:]]


def test_image_is_a_slim_python_that_runs_as_an_unprivileged_user() -> None:
    stage = final_stage()
    base = only(stage, "FROM")
    match = re.fullmatch(r"python:3\.(\d+)-slim(?:-\w+)?", base)
    assert match is not None, base
    assert int(match.group(1)) >= 11  # pyproject.toml: requires-python >= 3.11
    user = only(stage, "USER").partition(":")[0]
    assert user not in ("root", "0", "")
    # Nothing after USER runs as root again.
    names = [name for name, _ in stage]
    assert "RUN" not in names[names.index("USER") :]


def test_image_exposes_the_port_its_command_serves_on() -> None:
    stage = final_stage()
    assert only(stage, "EXPOSE") == "8000"
    command = image_command()
    assert command[command.index("--port") + 1] == "8000"


def test_image_entrypoint_is_ssemcp_and_its_command_serves_every_interface() -> None:
    assert image_command()[:4] == ["ssemcp", "serve", "--host", "0.0.0.0"]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    for name in ("SSEMCP_TOKEN", "SSEMCP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn_server, "run", lambda app, **kwargs: calls.append(kwargs))
    package_logger = logging.getLogger("ssemcp")
    monkeypatch.setattr(package_logger, "handlers", list(package_logger.handlers))
    monkeypatch.setattr(package_logger, "propagate", package_logger.propagate)
    monkeypatch.setattr(package_logger, "level", package_logger.level)
    return calls


def test_image_command_refuses_to_serve_without_a_token(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(main, image_command()[1:])
    assert result.exit_code == 2
    assert "refusing to listen on '0.0.0.0' without a token" in result.output
    assert uvicorn_calls == []


def test_image_command_serves_with_a_token_from_the_environment(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    # docker run -e SSEMCP_TOKEN=... IMAGE
    result = CliRunner().invoke(main, image_command()[1:], env={"SSEMCP_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert (uvicorn_calls[0]["host"], uvicorn_calls[0]["port"]) == ("0.0.0.0", 8000)


def test_docker_run_dash_i_stdio_speaks_mcp_on_stdin_and_stdout() -> None:
    completed = subprocess.run(
        as_local_process(image_command("stdio", "--toolsets", "utilities")),
        input=json.dumps(INITIALIZE) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[0])["result"]["serverInfo"]["name"]


def healthcheck_command(port: int) -> list[str]:
    arguments = only(final_stage(), "HEALTHCHECK")
    assert "--interval=" in arguments
    _, _, command = arguments.partition("CMD ")
    argv = exec_form(command)
    assert "http://127.0.0.1:8000/healthz" in argv[-1]
    argv[-1] = argv[-1].replace(":8000/", f":{port}/")
    return as_local_process(argv)


def test_healthcheck_passes_against_a_server_that_requires_a_token(tmp_path: Path) -> None:
    # /healthz needs no token: the check works on the default (token-protected) image.
    with ssemcp_serve(tmp_path, 'toolsets = ["utilities"]\n', "--token", TOKEN) as server:
        port = int(server.url.rpartition(":")[2])
        command = healthcheck_command(port)
        passed = subprocess.run(command, capture_output=True, timeout=30, check=False)
        assert passed.returncode == 0, passed.stderr
    failed = subprocess.run(command, capture_output=True, timeout=30, check=False)
    assert failed.returncode != 0


def test_image_installs_ssemcp_with_the_redis_extra_from_the_wheels_it_built() -> None:
    """The same image serves one replica in memory or several on Redis (``--state``:
    docs/deploy/compose.yaml runs it), so the wheels include the extra's and the install
    takes nothing from an index."""
    instructions = dockerfile_instructions()
    build_stage = instructions[: max(i for i, (n, _) in enumerate(instructions) if n == "FROM")]
    assert ("RUN", "pip wheel --no-cache-dir --wheel-dir /wheels '.[redis]'") in build_stage
    install = [
        arguments for name, arguments in final_stage() if name == "RUN" and "pip" in arguments
    ]
    assert install == [
        "pip install --no-cache-dir --no-index --find-links /wheels 'ssemcp[redis]' "
        "&& rm -rf /wheels"
    ]
    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    assert "redis" in extras["project"]["optional-dependencies"]


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything out (.git, .venv, node_modules, tests, ...)
    copied = [
        source
        for name, arguments in dockerfile_instructions()
        if name == "COPY" and not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    ]
    assert copied
    for source in copied:
        assert f"!{source.rstrip('/')}" in {p.rstrip("/") for p in patterns}, source
        assert (REPOSITORY / source).exists(), source


# -- systemd


def unit_directives() -> dict[str, list[str]]:
    """``Key`` -> its values, in the order given, across the unit's sections."""
    directives: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, separator, value = line.partition("=")
        assert separator, line
        directives.setdefault(key.strip(), []).append(value.strip())
    return directives


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("EnvironmentFile", "/etc/ssemcp/ssemcp.env"),
    ],
)
def test_unit_has_each_hardening_directive(key: str, value: str) -> None:
    assert value in unit_directives().get(key, []), f"{key}={value}"


def test_unit_execstart_is_a_serve_command_line_that_serve_accepts(tmp_path: Path) -> None:
    (exec_start,) = unit_directives()["ExecStart"]
    binary, command, *arguments = shlex.split(exec_start)
    assert (Path(binary).name, command) == ("ssemcp", "serve")
    config = tmp_path / "ssemcp.toml"
    config.write_text(example_config(serve), encoding="utf-8")
    arguments[arguments.index("--config") + 1] = str(config)
    context = serve.make_context("serve", arguments)
    assert context.params["host"] == "127.0.0.1"


@pytest.fixture
def rendered_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's ssemcp and its
    EnvironmentFile in ``tmp_path`` (verify checks that the binary exists)."""
    ssemcp = shutil.which("ssemcp") or str(Path(sys.executable).parent / "ssemcp")
    assert os.access(ssemcp, os.X_OK), ssemcp
    environment = tmp_path / "ssemcp.env"
    environment.write_text(f"SSEMCP_TOKEN={TOKEN}\n", encoding="utf-8")
    text = UNIT.read_text(encoding="utf-8")
    for old, new in (
        ("ExecStart=/opt/ssemcp/bin/ssemcp", f"ExecStart={ssemcp}"),
        ("EnvironmentFile=/etc/ssemcp/ssemcp.env", f"EnvironmentFile={environment}"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    unit = tmp_path / "ssemcp.service"
    unit.write_text(text, encoding="utf-8")
    return unit


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found is not None, "systemd-analyze is missing: scripts/test installs systemd"
    return found


def test_systemd_analyze_verify_finds_nothing_to_say(rendered_unit: Path) -> None:
    completed = subprocess.run(
        [systemd_analyze(), "verify", str(rendered_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys and bad values are warnings on stderr, not a failing exit code.
    assert (completed.returncode, completed.stderr) == (0, "")


def test_systemd_rates_the_unit_well_hardened(rendered_unit: Path) -> None:
    completed = subprocess.run(
        [
            systemd_analyze(),
            "security",
            "--offline=true",
            f"--threshold={MAX_EXPOSURE}",
            str(rendered_unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    assert "Overall exposure level" in completed.stdout


def test_unit_never_holds_a_token() -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert "--token" not in text
    assert not re.search(r"^Environment=.*TOKEN", text, re.MULTILINE)
