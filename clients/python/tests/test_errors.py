"""Every error code kvd sends surfaces as its typed exception carrying the code.

Codes kvd cannot be made to send by a well-formed request are listed in
``NOT_PROVOKABLE`` with the reason (they are still mapped: test_every_code_is_mapped).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import numpy as np
import pytest

import kvd_client as k
from kvd_client import Client, protocol as p
from kvd_client import _requests as rq

from conftest import Daemon
from helpers import SMALL, random_blocks

NOT_PROVOKABLE = {
    13: "descriptorMismatch: kvd sends it only when a session is dropped and re-created with "
        "another descriptor between an append's check and its commit (a race)",
    22: "storageError: needs a failing or corrupt store",
    41: "overloaded: kvd 1 never sends it (it back-pressures instead, §5)",
    50: "internal: an unexpected server failure",
}


def test_every_code_is_mapped() -> None:
    for code, cls in k.ERROR_CLASSES.items():
        error = k.error_for_code(code, "m", 3)
        assert type(error) is cls and error.code == code and error.request_id == 3
        assert isinstance(error, k.RemoteError) and isinstance(error, k.KVDError)
    unknown = k.error_for_code(77, "x", 1)
    assert isinstance(unknown, k.InternalError)
    assert (unknown.code, unknown.received_code) == (50, 77)


def _raises(cls: type, code: int, call, *args, **kwargs) -> k.RemoteError:
    with pytest.raises(cls) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


def test_session_errors(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client, Client(kvd.socket, timeout=10) as other:
        _raises(k.SessionNotFoundError, 10, client.open_session, name)
        _raises(k.SessionNotFoundError, 10, client.open_session, f"4242/{name}")
        client.create_session(name, SMALL)
        _raises(k.SessionExistsError, 11, client.create_session, name, SMALL)
        _raises(k.SessionExistsError, 11, client.fork_session, name, name)
        _raises(k.SessionBusyError, 18, other.drop_session, name)
        _raises(k.CheckpointNotFoundError, 17, client.get_checkpoint, name)
        _raises(k.CheckpointNotFoundError, 17, client.fork_session, name, name + ".c",
                copy_checkpoint=True)
        _raises(k.BadArgumentError, 30, client.create_session, "bad/name", SMALL)
        _raises(k.BadArgumentError, 30, client.create_session, "x" * 245, SMALL)
        _raises(k.BadArgumentError, 30, client.create_session, name + ".d",
                dataclasses.replace(SMALL, element_type=9))
        _raises(k.BadArgumentError, 30, client.open_session, "")
        _raises(k.LimitExceededError, 8, client.list_sessions, "", 4097)
        # The connection is still usable after each of these.
        assert client.open_session(name).name == name


def test_block_errors(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        layers, positions, hashes, keys, payloads = random_blocks(SMALL, 0, 0, 2, 5)
        _raises(k.BadPositionError, 15, client.append_blocks, name, [0, 0], [1, 2], hashes,
                keys, payloads)
        _raises(k.BadPositionError, 15, client.append_blocks, name, [3, 3], positions, hashes,
                keys, payloads)
        _raises(k.WrongDimensionsError, 14, client.append_blocks, name, layers, positions,
                hashes, keys[:, :-1], payloads)
        _raises(k.WrongDimensionsError, 14, client.append_blocks, name, layers, positions,
                hashes, keys, payloads.reshape(2, -1)[:, :-2])
        bad_keys = keys.copy()
        bad_keys[1, 3] = np.nan
        _raises(k.BadArgumentError, 30, client.append_blocks, name, layers, positions, hashes,
                bad_keys, payloads)
        ids = client.append_blocks(name, layers, positions, hashes, keys, payloads)
        _raises(k.BlockNotFoundError, 16, client.fetch_blocks, name, [bytes(16)])
        _raises(k.BadArgumentError, 30, client.fetch_blocks, name, [ids[0], ids[0]])
        _raises(k.WrongDimensionsError, 14, client.retrieve, name, 0, keys[0][:-1])
        _raises(k.BadPositionError, 15, client.retrieve, name, 3, keys[0])
        _raises(k.BadArgumentError, 30, client.retrieve, name, 0, keys[0], method=9)
        _raises(k.BadArgumentError, 30, client.retrieve, name, 0, keys[0], mode=2)
        _raises(k.BadArgumentError, 30, client.retrieve, name, 0, keys[0], question=keys[1],
                question_weight=-1.0)
        max_blocks = client.max_blocks
        _raises(k.LimitExceededError, 8, client.fetch_blocks, name,
                [i.to_bytes(16, "little") for i in range(max_blocks + 1)])
        assert client.fetch_blocks(name, ids).ids == ids


def test_protocol_level_errors_through_the_client(kvd: Daemon) -> None:
    with Client(kvd.socket, timeout=10) as client:
        _raises(k.UnexpectedMessageError, 7, client.handshake)
        _raises(k.UnknownMessageTypeError, 5, client.call,
                rq.raw(0x0053, b"", p.MessageType.OK))
        _raises(k.MalformedFrameError, 1, client.call,
                rq.raw(p.MessageType.STATS, b"\x00", p.MessageType.STATS_REPLY))
        _raises(k.LimitExceededError, 8, client.verify, 1025)
        assert client.stats().connections >= 1
        # A frame above the server's maximum is refused locally, nothing sent.
        big = b"\x00" * (client.server.max_frame_bytes - 11)
        _raises(k.FrameTooLargeError, 2, client.call,
                rq.raw(p.MessageType.STATS, big, p.MessageType.STATS_REPLY))
        assert client.stats().connections >= 1
    with pytest.raises(k.UnsupportedVersionError) as caught:
        Client(kvd.socket, timeout=10, version=2)
    assert caught.value.code == 3
    client = Client(kvd.socket, timeout=10, handshake=False)
    _raises(k.HandshakeRequiredError, 6, client.stats)
    with pytest.raises(k.ConnectionLost):
        client.stats()  # the server closed the connection after its answer
    client.close()
    client = Client(kvd.socket, timeout=10, handshake=False)
    _raises(k.BadMagicError, 4, client.call,
            rq.raw(p.MessageType.HELLO, b"KVE\x00\x01\x00\x00\x00\x00\x04",
                   p.MessageType.HELLO_OK))
    client.close()


def test_permission_denied(daemon_factory) -> None:
    daemon = daemon_factory("--admin-uid", "4242")
    with Client(daemon.socket, timeout=10) as client:
        _raises(k.PermissionDeniedError, 12, client.verify)
        _raises(k.PermissionDeniedError, 12, client.reload, k.LogLevel.INFO)
        _raises(k.PermissionDeniedError, 12, client.backup, "/tmp/never")


def _fill(client: Client, session: str, cls: type, code: int) -> None:
    big = k.Descriptor(1, 4, 4, 64, k.ElementType.FP16, 64, 1)  # 64 KiB payloads
    client.create_session(session, big)
    with pytest.raises(cls) as caught:
        for batch in range(64):
            client.append_blocks(session, *random_blocks(big, 0, batch * 4, 4, batch))
    assert caught.value.code == code
    # Nothing of the failed request was written; the connection goes on.
    assert client.open_session(session).block_counts[0] == 4 * batch


def test_storage_full(daemon_factory) -> None:
    daemon = daemon_factory("--map-size", str(1 << 20))
    with Client(daemon.socket, timeout=10) as client:
        _fill(client, "full", k.StorageFullError, 20)


def test_capacity_exceeded(daemon_factory) -> None:
    daemon = daemon_factory("--capacity", str(1 << 20))
    with Client(daemon.socket, timeout=10) as client:
        _fill(client, "cap", k.CapacityExceededError, 21)


def test_quota_exceeded(daemon_factory) -> None:
    daemon = daemon_factory("--owner-quota", str(1 << 20))
    with Client(daemon.socket, timeout=10) as client:
        _fill(client, "quota", k.QuotaExceededError, 23)


def test_too_many_connections(daemon_factory) -> None:
    daemon = daemon_factory("--max-connections", "1")
    for _attempt in range(50):  # until the start-up probe's connection is gone
        try:
            first = Client(daemon.socket, timeout=10)
            break
        except k.TooManyConnectionsError:
            time.sleep(0.05)
    with first:
        with pytest.raises(k.TooManyConnectionsError) as caught:
            Client(daemon.socket, timeout=10)
        assert caught.value.code == 42 and caught.value.request_id == 0
        assert first.stats().connections == 1


def test_connection_timed_out(daemon_factory) -> None:
    daemon = daemon_factory("--idle-timeout-seconds", "1", "--handshake-timeout-seconds", "1")
    client = Client(daemon.socket, timeout=10)
    time.sleep(2.5)  # the 1 s timeout, with room for a loaded machine
    _raises(k.ConnectionTimedOutError, 43, client.stats)
    client.close()
    silent = Client(daemon.socket, timeout=10, handshake=False)
    time.sleep(2.5)  # the 1 s timeout, with room for a loaded machine
    _raises(k.ConnectionTimedOutError, 43, silent.handshake)
    silent.close()


def test_shutting_down(fresh_kvd: Daemon) -> None:
    client = Client(fresh_kvd.socket, timeout=10)
    fresh_kvd.kill(signal.SIGTERM)
    fresh_kvd.process.wait(20)
    error = _raises(k.ShuttingDownError, 40, client.stats)
    assert error.request_id == 0
    # Later calls fail at once with the same error, never hang.
    with pytest.raises(k.ShuttingDownError):
        client.stats()


def test_reply_above_the_clients_maximum(kvd: Daemon, name: str) -> None:
    """§6.3: a fetch or retrieve whose reply would exceed the client's maxFrameBytes is
    limitExceeded, before any payload is read; fewer blocks per request then fit."""
    big = k.Descriptor(1, 4, 4, 64, k.ElementType.FP16, 64, 2)  # 64 KiB payloads
    with Client(kvd.socket, timeout=10, max_frame_bytes=128 * 1024) as client:
        client.create_session(name, big)
        blocks = random_blocks(big, 0, 0, 3, 8)
        ids = client.append_blocks(name, *blocks)
        _raises(k.LimitExceededError, 8, client.fetch_blocks, name, ids[:2])
        _raises(k.LimitExceededError, 8, client.retrieve, name, 0, blocks[3][0],
                method=p.Method.DENSE, want_payloads=True)
        assert np.array_equal(client.fetch_blocks(name, ids[1:2]).payloads.view(np.uint16),
                              blocks[4][1:2].view(np.uint16))
        dense = client.retrieve(name, 0, blocks[3][0], method=p.Method.DENSE,
                                want_payloads=True, held_ids=ids[1:])
        assert list(dense.payload_indices) == [0]
