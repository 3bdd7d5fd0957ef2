"""The asyncio client against a real kvd."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import kvd_client as k
from kvd_client import AsyncClient, Client, Method

from conftest import Daemon
from helpers import SMALL, random_blocks


def run(coroutine) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_async_round_trip(kvd: Daemon, name: str) -> None:
    async def body() -> None:
        async with await AsyncClient.connect(kvd.socket, timeout=10) as client:
            assert client.server.version == 1
            await client.create_session(name, SMALL)
            # Pipelined: every append written before any reply is awaited.
            futures = []
            expected = []
            for batch in range(6):
                blocks = random_blocks(SMALL, 2, batch * 3, 3, batch)
                futures.append(await client.submit_append_blocks(name, *blocks))
                expected.append(blocks[4])
            ids = [i for f in futures for i in await f]
            fetched = await client.fetch_blocks(name, ids)
            assert np.array_equal(fetched.payloads.view(np.uint16),
                                  np.concatenate(expected).view(np.uint16))
            dense = await client.retrieve(name, 2, np.ones(SMALL.vector_dim, np.float32),
                                          method=Method.DENSE)
            assert dense.ids == ids
            # Many tasks on one connection: replies matched by id.
            infos = await asyncio.gather(*(client.open_session(name) for _ in range(10)),
                                         client.stats(), client.list_sessions())
            assert all(i.block_counts == (0, 0, 18) for i in infos[:10])
            await client.put_checkpoint(name, 2, 72, b"w")
            assert (await client.get_checkpoint(name)).worker_state == b"w"
            fork = await client.fork_session(name, name + ".f", 3)
            assert fork.block_counts == (0, 0, 0)  # n = min(3, fewest blocks of a layer)
            assert (await client.verify()).ok
            detail = await client.inspect_session(name)
            assert detail.info.block_counts == (0, 0, 18)
            with pytest.raises(k.SessionNotFoundError) as caught:
                await client.open_session(name + ".missing")
            assert caught.value.code == 10
            with pytest.raises(k.BadPositionError):
                await client.append_blocks(name, *random_blocks(SMALL, 0, 5, 1, 0))
            await client.drop_session(name + ".f")
            await client.close_session(name)

    run(body())


def test_sync_and_async_agree(kvd: Daemon, name: str) -> None:
    with Client(kvd.socket, timeout=10) as sync:
        sync.create_session(name, SMALL)
        blocks = random_blocks(SMALL, 1, 0, 8, 3)
        sync.append_blocks(name, *blocks)
        probe = blocks[3][5] * 10
        expected = sync.retrieve(name, 1, probe, method=Method.INFLLM, want_payloads=True)

        async def body() -> k.Retrieved:
            async with await AsyncClient.connect(kvd.socket, timeout=10) as client:
                await client.open_session(name)
                return await client.retrieve(name, 1, probe, method=Method.INFLLM,
                                             want_payloads=True)

        got = run(body())
        assert got.ids == expected.ids
        assert np.array_equal(got.payloads.view(np.uint16), expected.payloads.view(np.uint16))
