"""The conformance vectors of docs/protocol-vectors against this client's codec."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from typing import Any, Dict, List

import numpy as np
import pytest

from kvd_client import protocol as p
from kvd_client.errors import ProtocolViolation, error_for_code

from conftest import REPO, VECTORS


def load(file_name: str) -> List[Dict[str, Any]]:
    return json.loads((VECTORS / file_name).read_text())["vectors"]


def ids(v: Dict[str, Any]) -> str:
    return v["name"]


def test_vectors_are_fresh() -> None:
    """The committed JSON is what generate.py writes (nobody edited one without the other)."""
    result = subprocess.run([sys.executable, str(VECTORS / "generate.py"), "--check"])
    assert result.returncode == 0


@pytest.mark.parametrize("vector", load("requests.json") + load("replies.json")
                         + load("server-requests.json") + load("malformed-replies.json"),
                         ids=ids)
def test_layout_concatenates_to_hex(vector: Dict[str, Any]) -> None:
    assert "".join(h for _, h in vector["layout"]) == vector["hex"]


def test_examples_in_protocol_md_match_vectors() -> None:
    """The hex examples of PROTOCOL.md (§6.8, §9) are the vectors' bytes."""
    text = (REPO / "docs" / "PROTOCOL.md").read_text()
    requests = {v["name"]: v["hex"] for v in load("requests.json")}
    replies = {v["name"]: v["hex"] for v in load("replies.json")}
    block = re.search(r"```\n(16 00 00 00.*?)```", text, re.S).group(1)
    hello = "".join(re.findall(r"^((?:[0-9A-F]{2} ?)+)", block, re.M)).replace(" ", "")
    assert hello == requests["hello-default"]
    error = re.search(r"`(10 00 00 00 \|[^`]*)`", text).group(1)
    assert error.replace("|", "").replace(" ", "") == replies["error-sessionNotFound"]
    reload = re.search(r"`(0E 00 00 00[^`]*)`", text).group(1)
    assert reload.replace(" ", "") == requests["reload-debug"]


def _ids(hex_list: List[str]) -> List[bytes]:
    return [bytes.fromhex(h) for h in hex_list]


def _descriptor(d: Dict[str, int]) -> p.Descriptor:
    return p.Descriptor(d["layers"], d["queryHeads"], d["kvHeads"], d["headDim"],
                        d["elementType"], d["blockSize"], d["fingerprint"])


def encode_request(v: Dict[str, Any]) -> bytes:
    """Encode a request vector's fields with the client's encoders."""
    f, rid, t = v["fields"], v["requestID"], v["type"]
    if t == "hello":
        return p.encode_hello(rid, f["maxFrameBytes"], f["version"])
    if t == "createSession":
        return p.encode_create_session(rid, f["name"], _descriptor(f["descriptor"]))
    if t in ("openSession", "closeSession", "dropSession", "inspectSession"):
        return p.encode_name_request(v["typeCode"], rid, f["name"])
    if t == "listSessions":
        return p.encode_list_sessions(rid, f["after"], f["limit"])
    if t == "forkSession":
        return p.encode_fork_session(rid, f["source"], f["target"], f["blockCount"],
                                     bool(f["options"] & 1))
    if t == "appendBlocks":
        blocks = f["blocks"]
        return bytes(p.encode_append_blocks(
            rid, f["session"], [b["layer"] for b in blocks], [b["position"] for b in blocks],
            _ids([b["prefixHash"] for b in blocks]),
            np.array([b["representativeKey"] for b in blocks], dtype=np.float32),
            np.frombuffer(b"".join(bytes.fromhex(b["payload"]) for b in blocks),
                          dtype=np.uint8).reshape(len(blocks), f["payloadBytes"])))
    if t == "retrieve":
        return p.encode_retrieve(rid, f["session"], f["layer"], f["probe"], f["method"],
                                 f["mode"], f["chunkSequence"], f.get("question"),
                                 f.get("questionWeight", 0.0), _ids(f["heldIDs"]),
                                 bool(f["options"] & 2))
    if t == "fetchBlocks":
        return p.encode_fetch_blocks(rid, f["session"], _ids(f["ids"]))
    if t == "putCheckpoint":
        return p.encode_put_checkpoint(rid, f["session"], f["chunkSequence"], f["tokenCount"],
                                       bytes.fromhex(f["workerState"]))
    if t == "getCheckpoint":
        return p.encode_get_checkpoint(rid, f["session"], bool(f["options"] & 1))
    if t == "stats":
        return p.encode_stats(rid)
    if t == "verify":
        return p.encode_verify(rid, f["maxFailures"])
    if t == "reload":
        return p.encode_reload(rid, f["level"] if f["options"] & 1 else None)
    if t == "backup":
        return p.encode_backup(rid, f["path"])
    raise AssertionError(f"no encoder for {t}")


@pytest.mark.parametrize("vector", load("requests.json"), ids=ids)
def test_request_encoding(vector: Dict[str, Any]) -> None:
    assert encode_request(vector).hex().upper() == vector["hex"]


def _info_fields(info: p.SessionInfo) -> Dict[str, Any]:
    d = info.descriptor
    return {"name": info.name, "ownerUID": info.owner_uid,
            "descriptor": {"layers": d.layers, "queryHeads": d.query_heads,
                           "kvHeads": d.kv_heads, "headDim": d.head_dim,
                           "elementType": d.element_type, "blockSize": d.block_size,
                           "fingerprint": d.fingerprint},
            "flags": 1 if info.has_checkpoint else 0,
            "checkpointSequence": info.checkpoint_sequence, "storedBytes": info.stored_bytes,
            "createdAtMillis": info.created_at_millis,
            "lastUsedAtMillis": info.last_used_at_millis,
            "layerCount": len(info.block_counts), "blockCounts": list(info.block_counts)}


def _hex(b: Any) -> str:
    return bytes(b).hex().upper()


def reply_fields(message_type: int, value: Any) -> Dict[str, Any]:
    """The decoded reply in the vectors' field names."""
    if isinstance(value, p.ErrorReply):
        return {"code": value.code, "message": value.message}
    if isinstance(value, p.HelloOK):
        return {"version": value.version, "maxFrameBytes": value.max_frame_bytes,
                "maxBlocksPerRequest": value.max_blocks_per_request,
                "peerUID": value.peer_uid, "peerGID": value.peer_gid}
    if value is None:
        return {}
    if isinstance(value, p.SessionInfo):
        return _info_fields(value)
    if isinstance(value, p.SessionList):
        return {"sessions": [_info_fields(i) for i in value.sessions],
                "hasMore": value.has_more}
    if isinstance(value, list):
        return {"ids": [_hex(i) for i in value]}
    if isinstance(value, p.Retrieved):
        return {"k": value.k, "entropy": value.entropy, "density": value.density,
                "totalBlocks": value.total_blocks,
                "chosen": [{"id": _hex(i), "position": int(pos)}
                           for i, pos in zip(value.ids, value.positions)],
                "payloadBytes": value.payload_bytes,
                "payloads": [{"index": int(i), "payload": _hex(row)}
                             for i, row in zip(value.payload_indices, value.payloads)]}
    if isinstance(value, p.Blocks):
        return {"keyDim": value.key_dim, "payloadBytes": value.payload_bytes,
                "blocks": [{"id": _hex(value.ids[i]), "layer": int(value.layers[i]),
                            "position": int(value.positions[i]),
                            "prefixHash": _hex(value.prefix_hashes[i]),
                            "representativeKey": [float(x) for x in value.keys[i]],
                            "payload": _hex(value.payloads[i])}
                           for i in range(len(value.ids))]}
    if isinstance(value, p.Checkpoint):
        return {"chunkSequence": value.chunk_sequence, "tokenCount": value.token_count,
                "workerState": _hex(value.worker_state),
                "retrievalState": _hex(value.retrieval_state)}
    if isinstance(value, p.Stats):
        def bound(x: float) -> Any:
            return "+inf" if math.isinf(x) else x
        return {"uptimeSeconds": value.uptime_seconds, "connections": value.connections,
                "sessions": value.sessions, "blocks": value.blocks,
                "storedBytes": value.stored_bytes, "capacityBytes": value.capacity_bytes,
                "requests": value.requests, "errors": value.errors,
                "counters": [{"name": k, "value": v} for k, v in value.counters.items()],
                "histograms": [{"name": h.name, "sumSeconds": h.sum_seconds,
                                "buckets": [{"upperBoundSeconds": bound(u), "count": c}
                                            for u, c in h.buckets]}
                               for h in value.histograms]}
    if isinstance(value, p.VerifyReport):
        return {"ok": value.ok, "blocksChecked": value.blocks_checked,
                "referencesChecked": value.references_checked,
                "failureTotal": value.failure_total,
                "failures": [{"block": None if f.block is None else _hex(f.block),
                              "session": f.session, "reason": int(f.reason),
                              "message": f.message} for f in value.failures]}
    if isinstance(value, p.Reloaded):
        return {"previous": int(value.previous), "current": int(value.current)}
    if isinstance(value, p.BackupDone):
        return {"bytes": value.bytes, "elapsedMillis": value.elapsed_millis,
                "sessions": value.sessions, "blocks": value.blocks}
    if isinstance(value, p.SessionDetail):
        return {"info": _info_fields(value.info), "openConnections": value.open_connections,
                "sharedBlocks": value.shared_blocks, "rawBytes": value.raw_bytes,
                "layerStoredBytes": list(value.layer_stored_bytes)}
    raise AssertionError(f"unknown reply {value!r}")


def split(hex_frame: str) -> p.Frame:
    raw = bytes.fromhex(hex_frame)
    splitter = p.FrameSplitter(p.DEFAULT_MAX_FRAME_BYTES)
    buffer = splitter.buffer()
    buffer[:len(raw)] = raw
    frames = splitter.advance(len(raw))
    assert len(frames) == 1 and not splitter.mid_frame
    return frames[0]


@pytest.mark.parametrize("vector", load("replies.json"), ids=ids)
def test_reply_decoding(vector: Dict[str, Any]) -> None:
    frame = split(vector["hex"])
    assert (frame.type, frame.request_id) == (vector["typeCode"], vector["requestID"])
    value = p.decode_reply(frame.type, frame.body, 4096)
    expected = json.loads(json.dumps(vector["fields"]))
    for failure in expected.get("failures", []):
        failure.pop("wireReason", None)
    assert reply_fields(frame.type, value) == expected
    if "treatAsCode" in vector.get("expect", {}):
        error = value.exception(frame.request_id)
        assert error.code == vector["expect"]["treatAsCode"]
        assert error.received_code == vector["fields"]["code"]


@pytest.mark.parametrize("vector", load("malformed-replies.json"), ids=ids)
def test_malformed_reply_is_rejected(vector: Dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    splitter = p.FrameSplitter(p.DEFAULT_MAX_FRAME_BYTES)
    with pytest.raises(ProtocolViolation):
        buffer = splitter.buffer()
        buffer[:len(raw)] = raw
        for frame in splitter.advance(len(raw)):
            p.decode_reply(frame.type, frame.body, 4096)
        assert splitter.mid_frame is False
        raise AssertionError("accepted")


def test_every_error_code_has_a_class() -> None:
    codes = {v["expect"]["code"] for v in load("server-requests.json") if "code" in v["expect"]}
    for code in codes | {20, 21, 22, 23, 40, 41, 42, 43, 50}:
        assert error_for_code(code).code == code
