"""``python3 -m kvd_client``: what other implementations call to compare results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from kvd_client import Client, Method

from conftest import Daemon
from helpers import SMALL, random_blocks

SRC = str(Path(__file__).resolve().parents[1] / "src")


def cli(kvd: Daemon, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "kvd_client", "--socket", kvd.socket, *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_cli_retrieve_matches_the_library(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        blocks = random_blocks(SMALL, 1, 0, 20, 4)
        ids = client.append_blocks(name, *blocks)
        probe = blocks[3][7] * 3
        expected = client.retrieve(name, 1, probe, method=Method.INFLLM, chunk_sequence=3)
        path = kvd.directory / f"{name}.probe"
        probe.astype("<f4").tofile(path)
        result = cli(kvd, "retrieve", name, "--layer", "1", "--probe", str(path),
                     "--method", "infllm", "--chunk", "3")
        assert result.returncode == 0, result.stderr
        got = json.loads(result.stdout)
        assert got["ids"] == [i.hex().upper() for i in expected.ids]
        assert got["positions"] == [ids.index(i) for i in expected.ids]
        sessions = json.loads(cli(kvd, "sessions").stdout)
        assert any(s["name"] == name and s["blockCounts"] == [0, 20, 0] for s in sessions)
        forked = cli(kvd, "fork", name, name + ".cli", "--blocks", "0")
        assert forked.returncode == 0 and json.loads(forked.stdout)["blockCounts"] == [0, 0, 0]
        missing = cli(kvd, "retrieve", name + ".none", "--layer", "0", "--probe", str(path))
        assert missing.returncode == 1 and "sessionNotFound (10)" in missing.stderr
