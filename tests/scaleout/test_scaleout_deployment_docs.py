"""docs/deploy/compose.yaml and docs/deploy/nginx-replicas.conf, checked without a container
runtime (the test machines have none): what the tests run is rendered from them
(scaleout_harness), and here the documents themselves are held to what the README promises.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Final

import yaml
from click.testing import CliRunner
from scaleout_harness import (
    COMPOSE,
    NGINX_REPLICAS,
    free_port,
    nginx_binary,
    render_replica_commands,
    render_replicas_site,
)

from ssemcp.cli import main

STICKY_DIRECTIVES: Final = ("ip_hash", "hash ", "sticky", "least_conn", "random")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_compose_runs_redis_three_identical_replicas_and_nginx() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", "ssemcp-1", "ssemcp-2", "ssemcp-3", "nginx"}
    replicas = [services[f"ssemcp-{number}"] for number in (1, 2, 3)]
    assert all(replica == replicas[0] for replica in replicas)
    command = replicas[0]["command"]
    assert command[command.index("--state") + 1] == "redis://redis:6379/0"
    # One state key for all: any replica opens any 2026-07-28 requestState.
    assert replicas[0]["environment"]["SSEMCP_STATE_KEY"].startswith("${SSEMCP_STATE_KEY:?")
    assert services["nginx"]["volumes"] == [
        "./nginx-replicas.conf:/etc/nginx/conf.d/default.conf:ro"
    ]
    # The replicas trust nginx's fixed address, inside the network's subnet.
    nginx_address = services["nginx"]["networks"]["default"]["ipv4_address"]
    assert command[command.index("--trusted-proxy") + 1] == nginx_address
    [subnet] = compose()["networks"]["default"]["ipam"]["config"]
    assert nginx_address.startswith(subnet["subnet"].rsplit(".", 2)[0] + ".")


def test_compose_replicas_run_the_root_dockerfiles_image() -> None:
    """One image for one replica or several: the root Dockerfile has the redis extra
    (tests/deploy/test_deployment_files.py holds it to that, to its unprivileged user and
    to what .dockerignore lets in)."""
    replica = compose()["services"]["ssemcp-1"]
    build = replica["build"]
    assert build == {"context": "../..", "dockerfile": "Dockerfile"}
    assert (COMPOSE.parents[2] / build["dockerfile"]).is_file()
    assert replica["image"] == "ssemcp"
    # The image's entry point is ssemcp: the command is serve's arguments.
    assert replica["command"][0] == "serve"


def test_nginx_replicas_upstream_is_plain_round_robin_to_the_compose_replicas() -> None:
    text = NGINX_REPLICAS.read_text(encoding="utf-8")
    upstream = text[text.index("upstream ssemcp_replicas {") : text.index("}")]
    directives = [
        line.strip() for line in upstream.splitlines()[1:] if not line.strip().startswith("#")
    ]
    assert not [line for line in directives if line.startswith(STICKY_DIRECTIVES)]
    servers = [line for line in directives if line.startswith("server ")]
    assert servers == [f"server ssemcp-{number}:8000;" for number in (1, 2, 3)]
    assert "proxy_buffering off;" in text


def test_rendered_commands_are_accepted_by_serve(tmp_path: Path) -> None:
    """Each rendered command through ``serve``'s own parser (``--help`` after it: parsed,
    not run)."""
    for command in render_replica_commands("redis://127.0.0.1:6379/0", [8001, 8002, 8003]):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, result.output


def test_compose_command_as_written_is_accepted_by_serve() -> None:
    command = [str(part) for part in compose()["services"]["ssemcp-1"]["command"]]
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_rendered_site_passes_nginx_configuration_test(tmp_path: Path) -> None:
    site = tmp_path / "site.conf"
    site.write_text(render_replicas_site(free_port(), [8001, 8002, 8003]), encoding="utf-8")
    main_config = tmp_path / "nginx.conf"
    main_config.write_text(
        f"error_log {tmp_path / 'error.log'};\npid {tmp_path / 'nginx.pid'};\n"
        f"events {{}}\nhttp {{\n    include {site};\n}}\n",
        encoding="utf-8",
    )
    checked = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(main_config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
