"""The synchronous client against a real kvd."""

from __future__ import annotations

import numpy as np
import pytest

from kvd_client import _requests as rq
from kvd_client import (ALL_BLOCKS, Client, Descriptor, ElementType, Method, Mode,
                        SessionNotFoundError)

from conftest import Daemon
from helpers import SMALL, random_blocks


def test_handshake(kvd: Daemon) -> None:
    with Client(kvd.socket, timeout=10, max_frame_bytes=1 << 20) as client:
        assert client.server is not None
        assert client.server.version == 1
        assert 65536 <= client.server.max_frame_bytes <= 1 << 30
        assert client.server.max_blocks_per_request >= 1
        import os
        assert (client.server.peer_uid, client.server.peer_gid) == (os.getuid(), os.getgid())


def test_session_lifecycle(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        info = client.create_session(name, SMALL)
        assert (info.name, info.descriptor, info.block_counts) == (name, SMALL, (0, 0, 0))
        assert not info.has_checkpoint
        names = [s.name for s in client.all_sessions()]
        assert name in names
        assert client.open_session(name).name == name
        client.close_session(name)
        fork = client.fork_session(name, name + ".f")
        assert fork.descriptor == SMALL
        client.drop_session(name + ".f")
        client.drop_session(name)
        with pytest.raises(SessionNotFoundError) as caught:
            client.open_session(name)
        assert caught.value.code == 10


def test_list_sessions_pages(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        made = [f"{name}.{i}" for i in range(5)]
        for session in made:
            client.create_session(session, SMALL)
        page = client.list_sessions(after=name, limit=2)
        assert [s.name for s in page.sessions] == made[:2] and page.has_more
        page = client.list_sessions(after=made[1], limit=2)
        assert [s.name for s in page.sessions] == made[2:4]
        assert [s.name for s in client.all_sessions() if s.name.startswith(name)] == made


def _append_layers(client: Client, session: str, blocks_per_layer: int, seed: int = 1):
    """Append blocks_per_layer blocks to every layer; returns (ids, keys, payloads, hashes)
    in request order, layer by layer."""
    ids, keys, payloads, hashes = [], [], [], []
    for layer in range(SMALL.layers):
        layers, positions, h, k, pl = random_blocks(SMALL, layer, 0, blocks_per_layer,
                                                    seed + layer)
        ids += client.append_blocks(session, layers, positions, h, k, pl)
        keys.append(k)
        payloads.append(pl)
        hashes += h
    return ids, np.concatenate(keys), np.concatenate(payloads), hashes


def test_append_fetch_bit_exact(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        ids, keys, payloads, hashes = _append_layers(client, name, 5)
        assert len(set(ids)) == len(ids) == 15 and all(len(i) == 16 for i in ids)
        # Special values must survive too: ±0, subnormals, ±inf and NaN bit patterns.
        special = payloads[:1].copy()
        special.view(np.uint16).reshape(-1)[:8] = [0x0000, 0x8000, 0x0001, 0x03FF, 0x7C00,
                                                   0xFC00, 0x7E01, 0xFBFF]
        layers, positions, h, k, _ = random_blocks(SMALL, 0, 5, 1, 99)
        ids += client.append_blocks(name, layers, positions, h, k, special)
        keys = np.concatenate([keys, k])
        payloads = np.concatenate([payloads, special])
        hashes += h
        order = list(reversed(range(len(ids))))
        fetched = client.fetch_blocks(name, [ids[i] for i in order])
        assert fetched.ids == [ids[i] for i in order]
        assert fetched.payloads.dtype == np.float16
        assert fetched.payloads.shape == (len(ids),) + SMALL.payload_shape
        assert np.array_equal(fetched.payloads.view(np.uint16),
                              payloads[order].view(np.uint16))
        assert np.array_equal(fetched.keys.view(np.uint32), keys[order].view(np.uint32))
        assert fetched.prefix_hashes == [hashes[i] for i in order]
        assert list(fetched.layers) == [0] + [2] * 5 + [1] * 5 + [0] * 5
        info = client.open_session(name)
        assert info.block_counts == (6, 5, 5) and info.stored_bytes > 0


def test_pipelined_appends(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=30) as client:
        client.create_session(name, SMALL)
        pending = []
        expected = []
        for batch in range(12):
            layers, positions, h, k, pl = random_blocks(SMALL, 1, batch * 8, 8, batch)
            pending.append(client.submit_append_blocks(name, layers, positions, h, k, pl))
            expected.append(pl)
        ids = [i for request in pending for i in request.result()]
        assert len(ids) == 96
        fetched = client.fetch_blocks(name, ids)
        assert np.array_equal(fetched.payloads.view(np.uint16),
                              np.concatenate(expected).view(np.uint16))
        assert list(fetched.positions) == list(range(96))


def test_bf16_payloads_round_trip(kvd: Daemon, name: str) -> None:
    descriptor = Descriptor(1, 2, 1, 4, ElementType.BF16, 2, 7)
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, descriptor)
        raw = np.arange(3 * descriptor.payload_bytes // 2, dtype=np.uint16).reshape(
            (3,) + descriptor.payload_shape)
        keys = np.ones((3, descriptor.vector_dim), np.float32)
        ids = client.append_blocks(name, [0] * 3, [0, 1, 2], [bytes(16)] * 3, keys, raw)
        fetched = client.fetch_blocks(name, ids)
        assert fetched.payloads.dtype == np.uint16
        assert np.array_equal(fetched.payloads, raw)


def test_retrieve(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        ids, keys, payloads, _ = _append_layers(client, name, 6)
        layer1 = slice(6, 12)
        dense = client.retrieve(name, 1, keys[6], method=Method.DENSE, want_payloads=True)
        assert dense.total_blocks == 6
        assert dense.ids == ids[layer1] and list(dense.positions) == list(range(6))
        assert list(dense.payload_indices) == list(range(6))
        assert np.array_equal(dense.payloads.view(np.uint16),
                              payloads[layer1].view(np.uint16))
        # infllm: inner-product top-k; the probe equal to one key ranks that block first
        # when its norm dominates.
        probe = keys[8] * 100
        chosen = client.retrieve(name, 1, probe, method=Method.INFLLM, mode=Mode.DECODE)
        assert chosen.ids[0] == ids[8] and len(chosen.payloads) == 0
        scores = keys[layer1] @ probe
        top = list(np.argsort(-scores)[:len(chosen.ids)])
        assert [ids[6 + i] for i in top] == chosen.ids
        # Held ids: their payloads are not sent again.
        held = client.retrieve(name, 1, probe, method=Method.INFLLM, mode=Mode.DECODE,
                               held_ids=chosen.ids[:1], want_payloads=True)
        assert held.ids == chosen.ids
        assert 0 not in list(held.payload_indices)
        for index, payload in zip(held.payload_indices, held.payloads):
            block = ids.index(held.ids[index])
            assert np.array_equal(payload.view(np.uint16), payloads[block].view(np.uint16))
        # actqkv with a question term (prefill), a chunk sequence per call.
        answer = client.retrieve(name, 0, keys[0], method=Method.ACTQKV, mode=Mode.PREFILL,
                                 chunk_sequence=1, question=keys[1], question_weight=0.5)
        assert answer.total_blocks == 6 and 1 <= len(answer.ids) <= 6
        assert 0.0 <= answer.density <= 1.0


def test_checkpoints_and_fork(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        ids, _, _, _ = _append_layers(client, name, 4)
        state = bytes(range(256)) * 3
        client.put_checkpoint(name, 7, 48, state)
        checkpoint = client.get_checkpoint(name)
        assert (checkpoint.chunk_sequence, checkpoint.token_count) == (7, 48)
        assert checkpoint.worker_state == state
        assert client.get_checkpoint(name, restore=True).worker_state == state
        info = client.open_session(name)
        assert info.has_checkpoint and info.checkpoint_sequence == 7
        fork = client.fork_session(name, name + ".c", ALL_BLOCKS, copy_checkpoint=True)
        assert fork.block_counts == (4, 4, 4) and fork.has_checkpoint
        assert client.get_checkpoint(name + ".c").worker_state == state
        head = client.fork_session(name, name + ".h", 2)
        assert head.block_counts == (2, 2, 2) and not head.has_checkpoint
        assert client.fetch_blocks(name + ".h", ids[:2]).ids == ids[:2]
        detail = client.inspect_session(name + ".h")
        assert detail.shared_blocks == 6 and detail.open_connections == 1
        assert sum(detail.layer_stored_bytes) == detail.info.stored_bytes


def test_stats_and_verify(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as client:
        client.create_session(name, SMALL)
        _append_layers(client, name, 2)
        stats = client.stats()
        assert stats.sessions >= 1 and stats.blocks >= 6 and stats.connections >= 1
        assert stats.requests > 0 and stats.counters
        for histogram in stats.histograms:
            bounds = [b for b, _ in histogram.buckets]
            assert bounds == sorted(bounds)
        report = client.verify(max_failures=10)
        assert report.ok and report.failure_total == 0 and report.failures == []
        assert report.blocks_checked >= 6


def test_reload(kvd: Daemon) -> None:
    from kvd_client import LogLevel
    with Client(kvd.socket, timeout=10) as client:
        first = client.reload(LogLevel.DEBUG)
        assert first.current == LogLevel.DEBUG
        back = client.reload(first.previous)
        assert (back.previous, back.current) == (LogLevel.DEBUG, first.previous)


def test_backup(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=30) as client:
        client.create_session(name, SMALL)
        done = client.backup(str(kvd.directory / f"backup-{name}"))
        assert done.bytes > 0 and done.sessions >= 1
        assert (kvd.directory / f"backup-{name}" / "data.mdb").exists()


def test_holds_do_not_nest(kvd: Daemon, name: str) -> None:
    """PROTOCOL.md §6.2: one closeSession releases however many opens; closing a session not
    held is ok."""
    from kvd_client import SessionBusyError
    with Client(kvd.socket, timeout=10) as a, Client(kvd.socket, timeout=10) as b:
        a.create_session(name, SMALL)
        b.close_session(name)  # not held by b: ok
        b.open_session(name)
        b.open_session(name)
        a.close_session(name)
        with pytest.raises(SessionBusyError):
            a.drop_session(name)
        b.close_session(name)
        a.drop_session(name)


def test_long_pipeline_does_not_deadlock(kvd: Daemon, name: str) -> None:
    """§5: a client must keep reading while it writes. 300 fetches of ~100 KB sent without
    waiting: the daemon stops reading once ~256 KiB of replies are unread, so submit() has
    to read replies while its sends block."""
    big = Descriptor(1, 4, 4, 64, ElementType.FP16, 64, 3)  # 64 KiB payloads
    with Client(kvd.socket, timeout=60) as client:
        client.create_session(name, big)
        blocks = random_blocks(big, 0, 0, 2, 1)
        ids = client.append_blocks(name, *blocks)
        pending = [client.submit(rq.fetch_blocks(name, ids))
                   for _ in range(300)]
        for request in pending:
            assert np.array_equal(request.result().payloads.view(np.uint16),
                                  blocks[4].view(np.uint16))
