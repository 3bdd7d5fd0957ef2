"""Sessions written by the Swift client (`actqkv run --session`) read from Python.

Needs the actqkv binary (``ACTQKV_BIN``, else ``.build/release/actqkv``) and the SmolLM2 model
(``ACTQKV_MODEL``, else the cache of scripts/fetch-model.sh); skipped without them. One short
document (≈ 1 200 tokens) run twice: a few seconds of CPU each.
"""

from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest

from kvd_client import Client, ElementType, Method

from conftest import Daemon, actqkv_binary, model_path


QUESTION = "What is the secret number?"


def run_actqkv(kvd: Daemon, session: str) -> subprocess.CompletedProcess:
    """``actqkv run --session`` over the test document; returns the finished process."""
    binary, model = actqkv_binary(), model_path()
    if binary is None or model is None:
        pytest.skip("needs ACTQKV_BIN (or .build/release/actqkv) and the SmolLM2 model")
    path = kvd.directory / "document.txt"
    if not path.exists():
        words = "the cat sat on a mat while the dog ran over hills under a blue sky".split()
        rng = random.Random(1)
        path.write_text(" ".join(rng.choice(words) for _ in range(1200))
                        + "\nThe secret number is 4217.\n")
    result = subprocess.run([binary, "run", "--socket", kvd.socket, "--session", session,
                             "--input", str(path), "--question", QUESTION, "--max-tokens", "4",
                             "--model", model], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def swift_run(kvd: Daemon) -> subprocess.CompletedProcess:
    """Session "swiftdoc" (the document prefix) and its run, written by the Swift client."""
    return run_actqkv(kvd, "swiftdoc")


def test_swift_session_listed_forked_and_read(kvd: Daemon,
                                             swift_run: subprocess.CompletedProcess) -> None:
    swift_session = "swiftdoc"
    with Client(kvd.socket, timeout=30) as client:
        names = {s.name: s for s in client.all_sessions()}
        assert swift_session in names
        runs = [n for n in names if n.startswith(swift_session + "~") and "@" not in n]
        assert runs, names
        run = client.open_session(runs[0])
        d = run.descriptor
        assert (d.layers, d.query_heads, d.kv_heads, d.head_dim, d.element_type) == \
            (30, 9, 3, 64, ElementType.FP16)  # SmolLM2-135M
        assert run.has_checkpoint and min(run.block_counts) > 0
        fork = client.fork_session(run.name, "py.fork")
        assert fork.block_counts == run.block_counts and fork.descriptor == d
        for layer in (0, d.layers - 1):
            source = client.retrieve(run.name, layer, np.ones(d.vector_dim, np.float32),
                                     method=Method.DENSE, want_payloads=True)
            forked = client.retrieve("py.fork", layer, np.ones(d.vector_dim, np.float32),
                                     method=Method.DENSE, want_payloads=True)
            assert forked.ids == source.ids  # the fork references the same blocks
            assert len(source.ids) == run.block_counts[layer]
            blocks = client.fetch_blocks("py.fork", source.ids)
            assert np.array_equal(blocks.payloads.view(np.uint16),
                                  source.payloads.view(np.uint16))
            assert blocks.payloads.shape[1:] == (2, 3, d.block_size, 64)
            assert np.all(np.isfinite(blocks.payloads)) and np.all(np.isfinite(blocks.keys))
            assert list(blocks.positions) == list(range(len(source.ids)))
            assert all(any(h) for h in blocks.prefix_hashes)  # the worker's prefix hashes
        checkpoint = client.get_checkpoint(run.name)
        assert checkpoint.chunk_sequence == run.checkpoint_sequence
        assert len(checkpoint.worker_state) > 0
        client.drop_session("py.fork")


def test_python_session_forked_by_swift(kvd: Daemon,
                                        swift_run: subprocess.CompletedProcess) -> None:
    """Copy the Swift-written document session into "pydoc" through Python (blocks, keys,
    prefix hashes, checkpoint), drop every Swift session, then let `actqkv run --session
    pydoc` reuse it: the Swift client forks the Python-written session into its run."""
    with Client(kvd.socket, timeout=60) as client:
        source = client.open_session("swiftdoc")
        d = source.descriptor
        client.create_session("pydoc", d)
        for layer in range(d.layers):
            chosen = client.retrieve("swiftdoc", layer, np.ones(d.vector_dim, np.float32),
                                     method=Method.DENSE)
            blocks = client.fetch_blocks("swiftdoc", chosen.ids)
            client.append_blocks("pydoc", blocks.layers, blocks.positions,
                                 blocks.prefix_hashes, blocks.keys, blocks.payloads)
        checkpoint = client.get_checkpoint("swiftdoc")
        client.put_checkpoint("pydoc", checkpoint.chunk_sequence, checkpoint.token_count,
                              checkpoint.worker_state)
        for info in client.all_sessions():
            if info.name.startswith("swiftdoc"):
                client.drop_session(info.name)
        copied = client.open_session("pydoc")
        assert copied.block_counts == source.block_counts and copied.has_checkpoint
    result = run_actqkv(kvd, "pydoc")
    assert f"reused {checkpoint.token_count}" in result.stderr, result.stderr
    assert result.stdout == swift_run.stdout  # the same answer
    with Client(kvd.socket, timeout=30) as client:
        runs = [s for s in client.all_sessions() if s.name.startswith("pydoc~")
                and "@" not in s.name]
        assert runs and all(c >= b for c, b in zip(runs[0].block_counts, copied.block_counts))
