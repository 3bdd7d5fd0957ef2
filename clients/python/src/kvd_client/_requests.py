"""Requests as data, shared by the synchronous and the asyncio client.

A :class:`Request` knows how to encode itself under a request id, which reply type answers
it, and how to turn the decoded reply into the value the API returns (shaping payloads with
the descriptors the connection has learnt).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Generic, List, Optional, TypeVar, Union

import numpy as np

from . import protocol as p
from .errors import ProtocolViolation

T = TypeVar("T")

Descriptors = Dict[str, p.Descriptor]


@dataclass
class Request(Generic[T]):
    """One request: ``encode(request_id)`` gives its frame; a reply of ``reply_type`` is
    decoded and passed through ``convert(reply, descriptors)``."""

    encode: Callable[[int], Union[bytes, bytearray]]
    reply_type: int
    convert: Callable[[Any, Descriptors], T]
    description: str = ""


def _identity(reply: Any, descriptors: Descriptors) -> Any:
    return reply


def _learn(reply: p.SessionInfo, descriptors: Descriptors) -> p.SessionInfo:
    descriptors[reply.name] = reply.descriptor
    return reply


def _learn_list(reply: p.SessionList, descriptors: Descriptors) -> p.SessionList:
    for info in reply.sessions:
        descriptors[info.name] = info.descriptor
    return reply


def _shape_payloads(payloads: np.ndarray, descriptor: Optional[p.Descriptor]) -> np.ndarray:
    """(n, P) bytes → (n, 2, kvHeads, blockSize, headDim) elements when the descriptor is
    known and matches; always a contiguous, writable copy."""
    rows = np.array(payloads, dtype=np.uint8, copy=True, order="C")
    if descriptor is None:
        return rows
    if rows.shape[0] == 0:  # none sent: an empty array of the usual shape
        return np.zeros((0,) + descriptor.payload_shape, descriptor.numpy_element_type)
    if rows.shape[1] != descriptor.payload_bytes:
        return rows
    return rows.view(descriptor.numpy_element_type).reshape(
        (rows.shape[0],) + descriptor.payload_shape)


def hello(max_frame_bytes: int, version: int) -> Request[p.HelloOK]:
    return Request(lambda rid: p.encode_hello(rid, max_frame_bytes, version),
                   p.MessageType.HELLO_OK, _identity, "hello")


def create_session(name: str, descriptor: p.Descriptor) -> Request[p.SessionInfo]:
    return Request(lambda rid: p.encode_create_session(rid, name, descriptor),
                   p.MessageType.SESSION_INFO, _learn, f"createSession {name!r}")


def open_session(name: str) -> Request[p.SessionInfo]:
    return Request(lambda rid: p.encode_name_request(p.MessageType.OPEN_SESSION, rid, name),
                   p.MessageType.SESSION_INFO, _learn, f"openSession {name!r}")


def close_session(name: str) -> Request[None]:
    return Request(lambda rid: p.encode_name_request(p.MessageType.CLOSE_SESSION, rid, name),
                   p.MessageType.OK, _identity, f"closeSession {name!r}")


def drop_session(name: str) -> Request[None]:
    def convert(reply: None, descriptors: Descriptors) -> None:
        descriptors.pop(name, None)

    return Request(lambda rid: p.encode_name_request(p.MessageType.DROP_SESSION, rid, name),
                   p.MessageType.OK, convert, f"dropSession {name!r}")


def inspect_session(name: str) -> Request[p.SessionDetail]:
    return Request(lambda rid: p.encode_name_request(p.MessageType.INSPECT_SESSION, rid,
                                                     name),
                   p.MessageType.SESSION_DETAIL, _identity, f"inspectSession {name!r}")


def list_sessions(after: str, limit: int) -> Request[p.SessionList]:
    return Request(lambda rid: p.encode_list_sessions(rid, after, limit),
                   p.MessageType.SESSION_LIST, _learn_list, "listSessions")


def fork_session(source: str, target: str, block_count: int,
                 copy_checkpoint: bool) -> Request[p.SessionInfo]:
    return Request(lambda rid: p.encode_fork_session(rid, source, target, block_count,
                                                     copy_checkpoint),
                   p.MessageType.SESSION_INFO, _learn, f"forkSession {source!r}→{target!r}")


def append_blocks(session: str, layers: object, positions: object, prefix_hashes: object,
                  keys: object, payloads: object) -> Request[List[bytes]]:
    # Encoded eagerly (errors in the arguments surface at the call); the id is patched in.
    frame = p.encode_append_blocks(0, session, layers, positions, prefix_hashes, keys,
                                   payloads)

    def encode(rid: int) -> bytearray:
        frame[8:16] = rid.to_bytes(8, "little")
        return frame

    return Request(encode, p.MessageType.APPENDED, _identity, f"appendBlocks {session!r}")


def retrieve(session: str, layer: int, probe: object, method: int, mode: int,
             chunk_sequence: int, question: object, question_weight: float,
             held_ids: object, want_payloads: bool) -> Request[p.Retrieved]:
    def convert(reply: p.Retrieved, descriptors: Descriptors) -> p.Retrieved:
        return replace(reply, payloads=_shape_payloads(reply.payloads,
                                                       descriptors.get(session)))

    return Request(lambda rid: p.encode_retrieve(rid, session, layer, probe, method, mode,
                                                 chunk_sequence, question, question_weight,
                                                 held_ids, want_payloads),
                   p.MessageType.RETRIEVED, convert, f"retrieve {session!r} layer {layer}")


def fetch_blocks(session: str, ids: object) -> Request[p.Blocks]:
    def convert(reply: p.Blocks, descriptors: Descriptors) -> p.Blocks:
        return replace(reply, keys=np.array(reply.keys, dtype=np.float32),
                       layers=np.array(reply.layers, dtype=np.uint16),
                       positions=np.array(reply.positions, dtype=np.uint32),
                       payloads=_shape_payloads(reply.payloads, descriptors.get(session)))

    return Request(lambda rid: p.encode_fetch_blocks(rid, session, ids),
                   p.MessageType.BLOCKS, convert, f"fetchBlocks {session!r}")


def put_checkpoint(session: str, chunk_sequence: int, token_count: int,
                   worker_state: bytes) -> Request[None]:
    return Request(lambda rid: p.encode_put_checkpoint(rid, session, chunk_sequence,
                                                       token_count, worker_state),
                   p.MessageType.OK, _identity, f"putCheckpoint {session!r}")


def get_checkpoint(session: str, restore: bool) -> Request[p.Checkpoint]:
    return Request(lambda rid: p.encode_get_checkpoint(rid, session, restore),
                   p.MessageType.CHECKPOINT, _identity, f"getCheckpoint {session!r}")


def stats() -> Request[p.Stats]:
    return Request(p.encode_stats, p.MessageType.STATS_REPLY, _identity, "stats")


def verify(max_failures: int) -> Request[p.VerifyReport]:
    return Request(lambda rid: p.encode_verify(rid, max_failures), p.MessageType.VERIFY_REPORT,
                   _identity, "verify")


def reload(level: Optional[int]) -> Request[p.Reloaded]:
    return Request(lambda rid: p.encode_reload(rid, level), p.MessageType.RELOADED, _identity,
                   "reload")


def backup(path: str) -> Request[p.BackupDone]:
    return Request(lambda rid: p.encode_backup(rid, path), p.MessageType.BACKUP_DONE,
                   _identity, "backup")


def raw(message_type: int, body: bytes, reply_type: int) -> Request[Any]:
    """Any frame; for tests and experiments."""
    return Request(lambda rid: p.encode_frame(message_type, rid, body), reply_type, _identity,
                   f"raw {message_type:#06x}")


def finish(request: Request[T], frame: p.Frame, max_blocks: int,
           descriptors: Descriptors) -> T:
    """Decode a reply frame for ``request``: its value, or raise the typed error."""
    reply = p.decode_reply(frame.type, frame.body, max_blocks)
    if isinstance(reply, p.ErrorReply):
        raise reply.exception(frame.request_id)
    if frame.type != request.reply_type:
        raise ProtocolViolation(f"{request.description}: reply type {frame.type:#06x}, "
                                f"expected {request.reply_type:#06x}")
    return request.convert(reply, descriptors)
