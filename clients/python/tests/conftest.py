"""Fixtures: a real kvd started per test module (or per test, when a test kills it).

The daemon binary comes from ``KVD_BIN``; without it the repository's release build
(``.build/release/kvd``) is used if present, else the daemon tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "docs" / "protocol-vectors"


def kvd_binary() -> Optional[str]:
    """Path of the kvd to test against, or None."""
    path = os.environ.get("KVD_BIN")
    if path:
        return path
    for candidate in (REPO / ".build" / "release" / "kvd", REPO / ".build" / "debug" / "kvd"):
        if candidate.exists():
            return str(candidate)
    return None


def actqkv_binary() -> Optional[str]:
    """Path of the actqkv CLI (the Swift client's writer of sessions), or None."""
    path = os.environ.get("ACTQKV_BIN")
    if path:
        return path
    candidate = REPO / ".build" / "release" / "actqkv"
    return str(candidate) if candidate.exists() else None


def model_path() -> Optional[str]:
    """The SmolLM2 GGUF: $ACTQKV_MODEL, else the cache scripts/fetch-model.sh fills."""
    path = os.environ.get("ACTQKV_MODEL")
    if path:
        return path
    cache = Path(os.environ.get("ACTQKV_CACHE", Path.home() / ".cache" / "actqkv"))
    candidate = cache / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return str(candidate) if candidate.exists() else None


class Daemon:
    """A kvd process serving a fresh data directory on a socket of its own."""

    def __init__(self, binary: str, extra: List[str]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="kvd-py-"))
        os.chmod(self.directory, 0o700)
        self.socket = str(self.directory / "kvd.sock")
        self.data = str(self.directory / "data")
        self.log_path = self.directory / "kvd.log"
        self._log = open(self.log_path, "wb")
        # One request thread, durability none: the tests check the protocol, not fsync, and
        # must stay light on a shared machine.
        args = [binary, "serve", "--socket", self.socket, "--data", self.data,
                "--durability", "none", "--request-threads", "1"]
        if "--map-size" not in extra:
            args += ["--map-size", str(256 << 20)]
        args += extra
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kvd exited with {self.process.returncode}:\n"
                                   + self.log_path.read_text(errors="replace"))
            if os.path.exists(self.socket):
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(self.socket)
                    return
                except OSError:
                    pass
                finally:
                    probe.close()
            time.sleep(0.02)
        raise RuntimeError("kvd did not start listening")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the daemon (default: SIGKILL)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def pause(self) -> None:
        """SIGSTOP the daemon and wait until the kernel has stopped it."""
        self.kill(signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("T", "t"):
                return
            time.sleep(0.001)
        raise RuntimeError("kvd did not stop")

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL after 10 s) and remove its directory."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_daemon(*extra: str) -> Daemon:
    binary = kvd_binary()
    if binary is None:
        pytest.skip("no kvd binary: set KVD_BIN (or build .build/release/kvd)")
    return Daemon(binary, list(extra))


@pytest.fixture(scope="module")
def kvd() -> Iterator[Daemon]:
    """A daemon shared by the tests of one module (root is its administrator)."""
    daemon = start_daemon()
    yield daemon
    daemon.stop()


@pytest.fixture
def fresh_kvd() -> Iterator[Daemon]:
    """A daemon of the test's own (for tests that kill it)."""
    daemon = start_daemon()
    yield daemon
    daemon.stop()


@pytest.fixture
def daemon_factory() -> Iterator:
    """Start daemons with extra flags; all are stopped after the test."""
    started: List[Daemon] = []

    def make(*extra: str) -> Daemon:
        daemon = start_daemon(*extra)
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()


_counter = [0]


@pytest.fixture
def name() -> str:
    """A session name unique within the test run."""
    _counter[0] += 1
    return f"t{os.getpid()}-{_counter[0]}"
