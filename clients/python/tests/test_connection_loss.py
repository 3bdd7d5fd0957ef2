"""A dropped connection raises, never hangs: against a killed kvd and against fake servers
that stop answering, close mid-frame or send garbage."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import kvd_client as k
from kvd_client import AsyncClient, Client, protocol as p
from kvd_client import _requests as rq

from conftest import Daemon
from helpers import SMALL, random_blocks

HELLO_OK = p.encode_frame(p.MessageType.HELLO_OK, 1,
                          (1).to_bytes(2, "little") + (1 << 20).to_bytes(4, "little")
                          + (64).to_bytes(4, "little") + bytes(8))


class FakeServer:
    """A Unix socket whose one connection is handled by ``behaviour(conn)`` in a thread."""

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.directory = tempfile.mkdtemp(prefix="kvd-fake-")
        self.path = os.path.join(self.directory, "fake.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.release = threading.Event()

        def run() -> None:
            conn, _ = self.listener.accept()
            try:
                behaviour(conn)
                self.release.wait(30)
            finally:
                conn.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        self.thread.join(5)
        Path(self.path).unlink(missing_ok=True)
        os.rmdir(self.directory)


def read_frame(conn: socket.socket) -> None:
    header = b""
    while len(header) < 16:
        header += conn.recv(16 - len(header))
    length = int.from_bytes(header[:4], "little")
    remaining = length - 12
    while remaining:
        remaining -= len(conn.recv(remaining))


@pytest.fixture
def fake() -> Iterator[Callable[[Callable[[socket.socket], None]], FakeServer]]:
    servers = []

    def make(behaviour: Callable[[socket.socket], None]) -> FakeServer:
        server = FakeServer(behaviour)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_kvd_killed_mid_request(fresh_kvd: Daemon) -> None:
    client = Client(fresh_kvd.socket, timeout=20)
    client.create_session("s", SMALL)
    fresh_kvd.pause()  # the requests are sent but cannot be answered...
    pending = [client.submit_append_blocks("s", *random_blocks(SMALL, 0, i * 2, 2, i))
               for i in range(3)]
    stats = client.submit(rq.stats())
    fresh_kvd.kill(signal.SIGKILL)  # ...and the daemon dies meanwhile
    started = time.monotonic()
    for request in pending + [stats]:
        with pytest.raises(k.ConnectionLost):
            request.result()
    assert time.monotonic() - started < 10
    with pytest.raises(k.ConnectionLost):
        client.stats()  # later calls fail at once


def test_kvd_killed_between_calls(fresh_kvd: Daemon) -> None:
    client = Client(fresh_kvd.socket, timeout=20)
    fresh_kvd.kill()
    fresh_kvd.process.wait(10)
    started = time.monotonic()
    with pytest.raises(k.ConnectionLost):
        client.stats()
    assert time.monotonic() - started < 10
    with pytest.raises(k.ConnectionLost):
        Client(fresh_kvd.socket, timeout=5)  # nobody listens any more


def test_server_that_never_answers_times_out(fake) -> None:
    server = fake(lambda conn: read_frame(conn))
    started = time.monotonic()
    with pytest.raises(k.RequestTimeout):
        Client(server.path, timeout=0.5)
    assert time.monotonic() - started < 5


def test_server_closing_mid_frame(fake) -> None:
    def behaviour(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(HELLO_OK)
        read_frame(conn)
        conn.sendall(p.encode_frame(p.MessageType.STATS_REPLY, 2, bytes(100))[:40])
        conn.shutdown(socket.SHUT_RDWR)

    server = fake(behaviour)
    client = Client(server.path, timeout=10)
    with pytest.raises(k.ConnectionLost, match="mid-frame"):
        client.stats()


def test_server_sending_garbage(fake) -> None:
    def behaviour(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(b"\x05\x00\x00\x00" + bytes(12))  # length 5 < 12

    server = fake(behaviour)
    with pytest.raises(k.ProtocolViolation):
        Client(server.path, timeout=10)


def test_server_sending_a_truncated_body(fake) -> None:
    def behaviour(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(HELLO_OK)
        read_frame(conn)
        conn.sendall(p.encode_frame(p.MessageType.STATS_REPLY, 2, bytes(10)))

    server = fake(behaviour)
    client = Client(server.path, timeout=10)
    with pytest.raises(k.ProtocolViolation):
        client.stats()
    assert client.closed


def test_async_kvd_killed_mid_request(fresh_kvd: Daemon) -> None:
    async def run() -> None:
        client = await AsyncClient.connect(fresh_kvd.socket, timeout=20)
        await client.create_session("s", SMALL)
        fresh_kvd.pause()
        calls = [asyncio.ensure_future(client.stats()) for _ in range(3)]
        await asyncio.sleep(0.1)
        fresh_kvd.kill(signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
        assert all(isinstance(r, k.ConnectionLost) for r in results), results
        with pytest.raises(k.ConnectionLost):
            await client.stats()
        await client.close()

    asyncio.run(run())


def test_async_server_that_never_answers_times_out(fake) -> None:
    server = fake(lambda conn: read_frame(conn))

    async def run() -> None:
        with pytest.raises(k.RequestTimeout):
            await AsyncClient.connect(server.path, timeout=0.5)

    asyncio.run(asyncio.wait_for(run(), 10))


def test_reply_to_an_unknown_request_id(fake) -> None:
    def behaviour(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(HELLO_OK)
        read_frame(conn)
        conn.sendall(p.encode_frame(p.MessageType.OK, 77, b""))

    server = fake(behaviour)
    client = Client(server.path, timeout=10)
    with pytest.raises(k.ProtocolViolation):
        client.close_session("x")
    assert client.closed
