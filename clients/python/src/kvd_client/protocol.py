"""Encoding and decoding of the kvd wire protocol, version 1 (docs/PROTOCOL.md). No I/O.

Requests are encoded into whole frames (``encode_*`` return ``bytes`` or ``bytearray``);
replies are decoded from a frame's type and body with :func:`decode_reply`, which validates
them as strictly as the document requires and raises :class:`ProtocolViolation` otherwise.
Both the synchronous and the asyncio client use this module.

Units: sizes are bytes, times as named in their field (``*_millis`` ms, ``*_seconds`` s).
Block ids and prefix hashes are 16-byte ``bytes`` in wire order (high u64 LE, then low u64 LE);
clients treat ids as opaque.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .errors import ProtocolViolation, RemoteError, error_for_code

PROTOCOL_VERSION = 1
MAGIC = b"KVD\x00"
HEADER_BYTES = 16
MIN_LENGTH = 12
MIN_MAX_FRAME_BYTES = 64 * 1024
MAX_MAX_FRAME_BYTES = 1 << 30
DEFAULT_MAX_FRAME_BYTES = 64 << 20
PRE_HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024
MAX_HELD_IDS = 1 << 20
MAX_VECTOR_DIM = 65536
MAX_SESSIONS_PER_PAGE = 4096
MAX_STATS_ENTRIES = 1024
MAX_VERIFY_FAILURES = 1024
MAX_BUCKETS = 256
MAX_ERROR_MESSAGE_BYTES = 4096
ALL_BLOCKS = 0xFFFFFFFF
RECORD_HEADER_BYTES = 22  # layer u16, position u32, prefix hash [16]

_HEADER = struct.Struct("<IHHQ")


class MessageType(enum.IntEnum):
    """Message types of §6. Requests have bit 15 clear, replies have it set."""

    HELLO = 0x0001
    CREATE_SESSION = 0x0010
    OPEN_SESSION = 0x0011
    CLOSE_SESSION = 0x0012
    LIST_SESSIONS = 0x0013
    DROP_SESSION = 0x0014
    FORK_SESSION = 0x0015
    APPEND_BLOCKS = 0x0020
    RETRIEVE = 0x0021
    FETCH_BLOCKS = 0x0022
    PUT_CHECKPOINT = 0x0030
    GET_CHECKPOINT = 0x0031
    STATS = 0x0040
    VERIFY = 0x0041
    RELOAD = 0x0050
    BACKUP = 0x0051
    INSPECT_SESSION = 0x0052
    HELLO_OK = 0x8001
    OK = 0x8002
    SESSION_INFO = 0x8010
    SESSION_LIST = 0x8013
    APPENDED = 0x8020
    RETRIEVED = 0x8021
    BLOCKS = 0x8022
    CHECKPOINT = 0x8031
    STATS_REPLY = 0x8040
    VERIFY_REPORT = 0x8041
    RELOADED = 0x8050
    BACKUP_DONE = 0x8051
    SESSION_DETAIL = 0x8052
    ERROR = 0xFFFF


class ElementType(enum.IntEnum):
    """Element type of K/V payloads (§6.1)."""

    FP16 = 1
    BF16 = 2


class Method(enum.IntEnum):
    """Retrieval methods of ``retrieve`` (§6.3)."""

    DENSE = 0
    INFLLM = 1
    ACTQKV_REFERENCE = 2
    ACTIVATE_ONLY = 3
    DYNAMIC_ONLY = 4
    ACTQKV = 5


class Mode(enum.IntEnum):
    """Execution mode of ``retrieve`` (§6.3)."""

    PREFILL = 0
    DECODE = 1


class LogLevel(enum.IntEnum):
    """Log levels of ``reload`` (§6.8)."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    NOTICE = 3
    WARNING = 4
    ERROR = 5
    CRITICAL = 6


class VerifyReason(enum.IntEnum):
    """Reason codes of a ``verifyReport`` failure (§6.7); unknown codes decode as OTHER."""

    OTHER = 0
    PAYLOAD_CORRUPT = 1
    PAYLOAD_METADATA_MISMATCH = 2
    MALFORMED_BLOCK_METADATA = 3
    PAYLOAD_WITHOUT_METADATA = 4
    BLOCK_WITHOUT_PAYLOAD = 5
    REFERENCE_COUNT_MISMATCH = 6
    MISSING_BLOCK = 7
    LAYER_LIST_MISMATCH = 8
    STORED_BYTES_MISMATCH = 9
    MALFORMED_SESSION = 10
    CHECKPOINT_MISMATCH = 11
    STORE_UNREADABLE = 12


# ----------------------------------------------------------------------------------------
# Value types


@dataclass(frozen=True)
class Descriptor:
    """Model descriptor (§6.1, 19 bytes on the wire).

    ``fingerprint`` is a u64 identifying the weights and anything else that changes the K/V.
    """

    layers: int
    query_heads: int
    kv_heads: int
    head_dim: int
    element_type: int
    block_size: int
    fingerprint: int

    @property
    def vector_dim(self) -> int:
        """D = queryHeads · headDim, floats per representative key, probe and question."""
        return self.query_heads * self.head_dim

    @property
    def payload_bytes(self) -> int:
        """P = 2 · kvHeads · blockSize · headDim · 2, bytes of one block's K and V."""
        return 2 * self.kv_heads * self.block_size * self.head_dim * 2

    @property
    def payload_shape(self) -> Tuple[int, int, int, int]:
        """Shape of one payload as an array of 16-bit elements: (K/V, kvHeads, tokens,
        headDim)."""
        return (2, self.kv_heads, self.block_size, self.head_dim)

    @property
    def numpy_element_type(self) -> np.dtype:
        """``float16`` for fp16; ``uint16`` (raw bits) for bf16, which NumPy lacks."""
        return np.dtype("<f2") if self.element_type == ElementType.FP16 else np.dtype("<u2")

    def encode(self) -> bytes:
        """The 19 wire bytes."""
        return _DESCRIPTOR.pack(self.layers, self.query_heads, self.kv_heads, self.head_dim,
                                self.element_type, self.block_size, self.fingerprint)


_DESCRIPTOR = struct.Struct("<HHHHBHQ")


@dataclass(frozen=True)
class HelloOK:
    """Reply to ``hello`` (§4). ``max_frame_bytes`` is the largest frame ``length`` the
    server accepts, in bytes."""

    version: int
    max_frame_bytes: int
    max_blocks_per_request: int
    peer_uid: int
    peer_gid: int


@dataclass(frozen=True)
class SessionInfo:
    """``sessionInfo`` (§6.2). ``stored_bytes`` are compressed bytes; times are ms since the
    Unix epoch; ``block_counts`` has one entry per layer."""

    name: str
    owner_uid: int
    descriptor: Descriptor
    has_checkpoint: bool
    checkpoint_sequence: int
    stored_bytes: int
    created_at_millis: int
    last_used_at_millis: int
    block_counts: Tuple[int, ...]


@dataclass(frozen=True)
class SessionList:
    """One page of ``listSessions`` (§6.2), sessions in ascending bytewise name order."""

    sessions: List[SessionInfo]
    has_more: bool


@dataclass(frozen=True)
class Retrieved:
    """``retrieved`` reply (§6.3).

    ``ids`` are the chosen blocks, best score first, with their ``positions`` (indices in the
    layer's list). ``payload_indices`` index into ``ids``; ``payloads`` holds those blocks'
    payloads, one row each (shape (m, P) bytes as ``uint8`` unless shaped by the client to
    (m, 2, kvHeads, blockSize, headDim) elements). ``entropy`` is in nats.
    """

    k: int
    entropy: float
    density: float
    total_blocks: int
    ids: List[bytes]
    positions: np.ndarray
    payload_bytes: int
    payload_indices: np.ndarray
    payloads: np.ndarray


@dataclass(frozen=True)
class Blocks:
    """``blocks`` reply (§6.3), in request order. ``keys`` is (n, D) float32; ``payloads`` is
    (n, P) ``uint8`` unless shaped by the client; ``prefix_hashes`` may be all zero for blocks
    stored before the server kept them."""

    key_dim: int
    payload_bytes: int
    ids: List[bytes]
    layers: np.ndarray
    positions: np.ndarray
    prefix_hashes: List[bytes]
    keys: np.ndarray
    payloads: np.ndarray


@dataclass(frozen=True)
class Checkpoint:
    """``checkpoint`` reply (§6.4). ``worker_state`` is returned byte-identical;
    ``retrieval_state`` is the server's, opaque."""

    chunk_sequence: int
    token_count: int
    worker_state: bytes
    retrieval_state: bytes


@dataclass(frozen=True)
class Histogram:
    """A latency histogram of ``stats`` (§6.5): per-bucket (not cumulative) counts under
    increasing upper bounds in seconds; the last bound may be +inf."""

    name: str
    sum_seconds: float
    buckets: List[Tuple[float, int]]


@dataclass(frozen=True)
class Stats:
    """``stats`` reply (§6.5). Byte counts in bytes; ``capacity_bytes`` 0 = unlimited."""

    uptime_seconds: int
    connections: int
    sessions: int
    blocks: int
    stored_bytes: int
    capacity_bytes: int
    requests: int
    errors: int
    counters: Dict[str, int]
    histograms: List[Histogram]


@dataclass(frozen=True)
class VerifyFailure:
    """One problem of a ``verifyReport`` (§6.7). ``block`` is None when it concerns no
    single block; ``session`` is empty when none; ``reason`` is a :class:`VerifyReason`."""

    block: Optional[bytes]
    session: str
    reason: VerifyReason
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """``verifyReport`` (§6.7). A report with problems is a success (``ok`` False)."""

    ok: bool
    blocks_checked: int
    references_checked: int
    failure_total: int
    failures: List[VerifyFailure]


@dataclass(frozen=True)
class Reloaded:
    """``reloaded`` (§6.8): the log level before and after."""

    previous: LogLevel
    current: LogLevel


@dataclass(frozen=True)
class BackupDone:
    """``backupDone`` (§6.9): ``bytes`` of the written data.mdb, ``elapsed_millis`` ms."""

    bytes: int
    elapsed_millis: int
    sessions: int
    blocks: int


@dataclass(frozen=True)
class SessionDetail:
    """``sessionDetail`` (§6.10); byte counts in bytes, ``layer_stored_bytes`` per layer."""

    info: SessionInfo
    open_connections: int
    shared_blocks: int
    raw_bytes: int
    layer_stored_bytes: Tuple[int, ...]


@dataclass(frozen=True)
class ErrorReply:
    """An ``error`` frame (§6.6), before it is turned into an exception."""

    code: int
    message: str

    def exception(self, request_id: int) -> RemoteError:
        """The typed exception for this error."""
        return error_for_code(self.code, self.message, request_id)


@dataclass(frozen=True)
class Frame:
    """A received frame: message type, request id and body bytes."""

    type: int
    request_id: int
    body: Union[bytes, bytearray, memoryview] = field(repr=False)


Reply = Union[HelloOK, None, SessionInfo, SessionList, List[bytes], Retrieved, Blocks,
              Checkpoint, Stats, VerifyReport, Reloaded, BackupDone, SessionDetail, ErrorReply]

# ----------------------------------------------------------------------------------------
# Encoding


def frame_header(message_type: int, request_id: int, body_length: int) -> bytes:
    """The 16-byte header of a frame whose body is ``body_length`` bytes."""
    return _HEADER.pack(MIN_LENGTH + body_length, message_type, 0, request_id)


def encode_frame(message_type: int, request_id: int, body: bytes = b"") -> bytes:
    """A whole frame: header then body."""
    return frame_header(message_type, request_id, len(body)) + bytes(body)


def encode_name(name: Union[str, bytes]) -> bytes:
    """A ``name``/``str8``: length u8 then the UTF-8 bytes. Only encodability (≤ 255 bytes)
    is checked here; the server judges validity (``badArgument``)."""
    raw = name.encode("utf-8") if isinstance(name, str) else bytes(name)
    if len(raw) > 255:
        raise ValueError(f"name of {len(raw)} bytes: at most 255 fit a name field")
    return bytes((len(raw),)) + raw


def _f32_vector(values: object, what: str) -> np.ndarray:
    vector = np.ascontiguousarray(values, dtype="<f4")
    if vector.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {vector.shape}")
    return vector


def as_ids(ids: object, what: str = "ids") -> np.ndarray:
    """Block ids or prefix hashes as a 1-D array of 16-byte void elements.

    Accepts a sequence of 16-byte ``bytes``, an (n, 16) ``uint8`` array or a ``V16`` array.
    """
    if isinstance(ids, np.ndarray):
        if ids.dtype == np.dtype("V16"):
            return np.ascontiguousarray(ids).reshape(-1)
        if ids.dtype == np.uint8 and ids.ndim == 2 and ids.shape[1] == 16:
            return np.ascontiguousarray(ids).view("V16").reshape(-1)
        raise ValueError(f"{what}: expected a V16 or (n, 16) uint8 array, got "
                         f"{ids.dtype} {ids.shape}")
    items = list(ids)  # type: ignore[call-overload]
    for item in items:
        if len(item) != 16:
            raise ValueError(f"{what}: every id is 16 bytes, got {len(item)}")
    return np.frombuffer(b"".join(bytes(i) for i in items), dtype="V16")


def encode_hello(request_id: int, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 version: int = PROTOCOL_VERSION) -> bytes:
    """``hello`` (§4): magic, version, the largest frame ``length`` (bytes) we accept."""
    return encode_frame(MessageType.HELLO, request_id,
                        MAGIC + struct.pack("<HI", version, max_frame_bytes))


def encode_create_session(request_id: int, name: str, descriptor: Descriptor) -> bytes:
    """``createSession`` (§6.2)."""
    return encode_frame(MessageType.CREATE_SESSION, request_id,
                        encode_name(name) + descriptor.encode())


def encode_name_request(message_type: int, request_id: int, name: str) -> bytes:
    """``openSession``, ``closeSession``, ``dropSession`` or ``inspectSession``: body is a
    name."""
    return encode_frame(message_type, request_id, encode_name(name))


def encode_list_sessions(request_id: int, after: str = "", limit: int = 0) -> bytes:
    """``listSessions`` (§6.2): names bytewise after ``after``; ``limit`` 0 = 4096."""
    return encode_frame(MessageType.LIST_SESSIONS, request_id,
                        encode_name(after) + struct.pack("<I", limit))


def encode_fork_session(request_id: int, source: str, target: str,
                        block_count: int = ALL_BLOCKS, copy_checkpoint: bool = False) -> bytes:
    """``forkSession`` (§6.2): share the first ``block_count`` blocks of every layer."""
    return encode_frame(MessageType.FORK_SESSION, request_id,
                        encode_name(source) + encode_name(target)
                        + struct.pack("<IB", block_count, 1 if copy_checkpoint else 0))


def record_dtype(key_dim: int, payload_bytes: int, with_id: bool = False) -> np.dtype:
    """Packed NumPy dtype of one block record of ``appendBlocks`` (and, ``with_id``, of a
    ``blocks`` reply entry): layer, position, prefix hash, key (f32 × key_dim), payload."""
    fields: List[Tuple[Any, ...]] = []
    if with_id:
        fields.append(("id", "V16"))
    fields += [("layer", "<u2"), ("position", "<u4"), ("hash", "V16"),
               ("key", "<f4", (key_dim,)), ("payload", "u1", (payload_bytes,))]
    return np.dtype(fields)  # packed: NumPy adds no padding unless align=True


def encode_append_blocks(request_id: int, session: str, layers: object, positions: object,
                         prefix_hashes: object, keys: object, payloads: object) -> bytearray:
    """``appendBlocks`` (§6.3) as one frame, built with a single copy of the payloads.

    Args:
        layers, positions: n integers (u16, u32).
        prefix_hashes: n 16-byte hashes (see :func:`as_ids`).
        keys: (n, D) representative keys, converted to little-endian float32.
        payloads: n payloads of P bytes each, as any array whose rows are blocks: e.g.
            (n, 2, kvHeads, blockSize, headDim) float16, or (n, P) uint8.
    """
    key_array = np.asarray(keys, dtype="<f4")
    if key_array.ndim != 2:
        raise ValueError(f"keys must be (n, D), got shape {key_array.shape}")
    count, key_dim = key_array.shape
    payload_array = np.ascontiguousarray(payloads)
    if payload_array.shape[:1] != (count,) and not (count == 0 and payload_array.size == 0):
        raise ValueError(f"payloads: {count} blocks expected, got shape {payload_array.shape}")
    payload_rows = payload_array.reshape(count, -1).view(np.uint8).reshape(count, -1) \
        if count else np.zeros((0, 0), np.uint8)
    payload_bytes = payload_rows.shape[1]
    hashes = as_ids(prefix_hashes, "prefix_hashes")
    layer_array = np.asarray(layers).reshape(-1)
    position_array = np.asarray(positions).reshape(-1)
    if not (len(hashes) == len(layer_array) == len(position_array) == count):
        raise ValueError("layers, positions, prefix_hashes, keys and payloads must have one "
                         "entry per block")
    prefix = encode_name(session) + struct.pack("<III", key_dim, payload_bytes, count)
    dtype = record_dtype(key_dim, payload_bytes)
    body_length = len(prefix) + count * dtype.itemsize
    out = bytearray(HEADER_BYTES + body_length)
    _HEADER.pack_into(out, 0, MIN_LENGTH + body_length, MessageType.APPEND_BLOCKS, 0,
                      request_id)
    out[HEADER_BYTES:HEADER_BYTES + len(prefix)] = prefix
    if count:
        records = np.frombuffer(out, dtype=dtype, offset=HEADER_BYTES + len(prefix),
                                count=count)
        records["layer"] = layer_array
        records["position"] = position_array
        records["hash"] = hashes
        records["key"] = key_array
        records["payload"] = payload_rows
    return out


def encode_retrieve(request_id: int, session: str, layer: int, probe: object,
                    method: int = Method.ACTQKV, mode: int = Mode.PREFILL,
                    chunk_sequence: int = 0, question: object = None,
                    question_weight: float = 0.0, held_ids: object = (),
                    want_payloads: bool = False) -> bytes:
    """``retrieve`` (§6.3). ``probe`` and ``question`` are D floats; ``question_weight`` is λ
    (finite, ≥ 0); ``held_ids`` are ids the caller already has (their payloads are not sent).
    """
    probe_vector = _f32_vector(probe, "probe")
    options = (1 if question is not None else 0) | (2 if want_payloads else 0)
    parts = [encode_name(session),
             struct.pack("<HBBBQI", layer, method, mode, options, chunk_sequence,
                         len(probe_vector)),
             probe_vector.tobytes()]
    if question is not None:
        question_vector = _f32_vector(question, "question")
        if len(question_vector) != len(probe_vector):
            raise ValueError("question and probe must have the same dimension")
        parts += [question_vector.tobytes(), struct.pack("<f", question_weight)]
    held = as_ids(held_ids, "held_ids") if len(held_ids) else np.zeros(0, "V16")  # type: ignore[arg-type]
    parts += [struct.pack("<I", len(held)), held.tobytes()]
    return encode_frame(MessageType.RETRIEVE, request_id, b"".join(parts))


def encode_fetch_blocks(request_id: int, session: str, ids: object) -> bytes:
    """``fetchBlocks`` (§6.3)."""
    id_array = as_ids(ids)
    return encode_frame(MessageType.FETCH_BLOCKS, request_id,
                        encode_name(session) + struct.pack("<I", len(id_array))
                        + id_array.tobytes())


def encode_put_checkpoint(request_id: int, session: str, chunk_sequence: int,
                          token_count: int, worker_state: bytes) -> bytes:
    """``putCheckpoint`` (§6.4). ``worker_state`` is opaque bytes."""
    return encode_frame(MessageType.PUT_CHECKPOINT, request_id,
                        encode_name(session)
                        + struct.pack("<QQI", chunk_sequence, token_count, len(worker_state))
                        + bytes(worker_state))


def encode_get_checkpoint(request_id: int, session: str, restore: bool = False) -> bytes:
    """``getCheckpoint`` (§6.4); ``restore`` resets the server's retrieval state too."""
    return encode_frame(MessageType.GET_CHECKPOINT, request_id,
                        encode_name(session) + bytes((1 if restore else 0,)))


def encode_stats(request_id: int) -> bytes:
    """``stats`` (§6.5): empty body."""
    return encode_frame(MessageType.STATS, request_id)


def encode_verify(request_id: int, max_failures: int = 0) -> bytes:
    """``verify`` (§6.7); ``max_failures`` 0 = 1024."""
    return encode_frame(MessageType.VERIFY, request_id, struct.pack("<I", max_failures))


def encode_reload(request_id: int, level: Optional[int] = None) -> bytes:
    """``reload`` (§6.8): set ``level``, or re-read the configuration when None."""
    body = bytes((0, 0)) if level is None else bytes((1, level))
    return encode_frame(MessageType.RELOAD, request_id, body)


def encode_backup(request_id: int, path: str) -> bytes:
    """``backup`` (§6.9): an absolute directory path on the daemon's host."""
    raw = path.encode("utf-8")
    return encode_frame(MessageType.BACKUP, request_id, struct.pack("<H", len(raw)) + raw)


# ----------------------------------------------------------------------------------------
# Decoding


class _Reader:
    """Bounds-checked little-endian reader over one body; any shortfall is a violation."""

    __slots__ = ("data", "offset", "end")

    def __init__(self, data: Union[bytes, bytearray, memoryview]) -> None:
        self.data = data
        self.offset = 0
        self.end = len(data)

    def remaining(self) -> int:
        return self.end - self.offset

    def need(self, n: int, what: str) -> None:
        if n > self.end - self.offset:
            raise ProtocolViolation(f"truncated {what}: {n} bytes needed, "
                                    f"{self.end - self.offset} left")

    def unpack(self, fmt: struct.Struct, what: str) -> Tuple:
        self.need(fmt.size, what)
        values = fmt.unpack_from(self.data, self.offset)
        self.offset += fmt.size
        return values

    def u8(self, what: str) -> int:
        return self.unpack(_U8, what)[0]

    def u16(self, what: str) -> int:
        return self.unpack(_U16, what)[0]

    def u32(self, what: str) -> int:
        return self.unpack(_U32, what)[0]

    def u64(self, what: str) -> int:
        return self.unpack(_U64, what)[0]

    def f32(self, what: str) -> float:
        return self.unpack(_F32, what)[0]

    def f64(self, what: str) -> float:
        return self.unpack(_F64, what)[0]

    def bool(self, what: str) -> bool:
        value = self.u8(what)
        if value > 1:
            raise ProtocolViolation(f"{what}: bool {value}")
        return value == 1

    def raw(self, n: int, what: str) -> bytes:
        self.need(n, what)
        value = bytes(self.data[self.offset:self.offset + n])
        self.offset += n
        return value

    def utf8(self, n: int, what: str) -> str:
        try:
            return self.raw(n, what).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtocolViolation(f"{what}: invalid UTF-8") from error

    def str8(self, what: str) -> str:
        return self.utf8(self.u8(what), what)

    def name(self, what: str) -> str:
        length = self.u8(what)
        if length == 0:
            raise ProtocolViolation(f"{what}: empty name")
        value = self.utf8(length, what)
        if "\x00" in value:
            raise ProtocolViolation(f"{what}: NUL in name")
        return value

    def ident(self, what: str) -> bytes:
        return self.raw(16, what)

    def array(self, dtype: np.dtype, count: int, what: str) -> np.ndarray:
        self.need(count * dtype.itemsize, what)
        value = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += count * dtype.itemsize
        return value

    def count(self, limit: int, unit_bytes: int, what: str) -> int:
        """A u32 count checked against its limit and the bytes left (each element at least
        ``unit_bytes``) before anything is allocated (§3)."""
        n = self.u32(what)
        if n > limit:
            raise ProtocolViolation(f"{what} {n} above the limit {limit}")
        if n * unit_bytes > self.remaining():
            raise ProtocolViolation(f"{what} {n} inconsistent with the {self.remaining()} "
                                    "bytes left")
        return n

    def finish(self, what: str) -> None:
        if self.offset != self.end:
            raise ProtocolViolation(f"{what}: {self.end - self.offset} trailing bytes")


_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_HELLO_OK = struct.Struct("<HIIII")
_SESSION_INFO_FIXED = struct.Struct("<BQQQQH")
_RETRIEVED_HEAD = struct.Struct("<IffII")


def check_hello(reply: "HelloOK", version: int) -> None:
    """Raise :class:`ProtocolViolation` unless ``helloOK`` grants the ``version`` asked for (§4)."""
    if reply.version != version:
        raise ProtocolViolation(f"server speaks version {reply.version}, asked for {version}")


def decode_header(header: Union[bytes, bytearray, memoryview],
                  max_frame_bytes: int = MAX_MAX_FRAME_BYTES) -> Tuple[int, int, int]:
    """Split a 16-byte header into (length, type, request id), checking 12 ≤ length ≤
    ``max_frame_bytes`` (the receiver's maximum, bytes)."""
    length, message_type, _flags, request_id = _HEADER.unpack_from(header, 0)
    if length < MIN_LENGTH:
        raise ProtocolViolation(f"frame length {length} < 12")
    if length > max_frame_bytes:
        raise ProtocolViolation(f"frame length {length} above our maximum {max_frame_bytes}")
    return length, message_type, request_id


def _decode_descriptor(reader: _Reader) -> Descriptor:
    layers, query_heads, kv_heads, head_dim, element_type, block_size, fingerprint = \
        reader.unpack(_DESCRIPTOR, "descriptor")
    return Descriptor(layers, query_heads, kv_heads, head_dim, element_type, block_size,
                      fingerprint)


def _decode_session_info(reader: _Reader) -> SessionInfo:
    name = reader.name("session name")
    owner = reader.u32("ownerUID")
    descriptor = _decode_descriptor(reader)
    flags, sequence, stored, created, last_used, layer_count = \
        reader.unpack(_SESSION_INFO_FIXED, "sessionInfo")
    if flags & ~1:
        raise ProtocolViolation(f"sessionInfo flags {flags:#x}: undefined bits set")
    if layer_count != descriptor.layers:
        raise ProtocolViolation(f"sessionInfo layerCount {layer_count} ≠ descriptor layers "
                                f"{descriptor.layers}")
    counts = reader.unpack(struct.Struct(f"<{layer_count}I"), "blockCounts")
    return SessionInfo(name, owner, descriptor, bool(flags & 1), sequence, stored, created,
                       last_used, counts)


def decode_reply(message_type: int, body: Union[bytes, bytearray, memoryview],
                 max_blocks_per_request: int = 0xFFFFFFFF) -> Reply:
    """Decode and validate a reply body of the given type (§6).

    Returns the decoded value (``None`` for ``ok``, a list of ids for ``appended``, an
    :class:`ErrorReply` for ``error``). Raises :class:`ProtocolViolation` for an unknown or
    request type, a body that does not follow its layout exactly, or a count above its limit.
    Payloads and keys in the result are read-only NumPy views of ``body``.
    """
    reader = _Reader(body)
    result: Reply
    if message_type == MessageType.ERROR:
        code = reader.u16("error code")
        if reader.remaining() > MAX_ERROR_MESSAGE_BYTES:
            raise ProtocolViolation(f"error message of {reader.remaining()} bytes > 4096")
        return ErrorReply(code, reader.utf8(reader.remaining(), "error message"))
    if message_type == MessageType.HELLO_OK:
        version, max_frame, max_blocks, uid, gid = reader.unpack(_HELLO_OK, "helloOK")
        if not MIN_MAX_FRAME_BYTES <= max_frame <= MAX_MAX_FRAME_BYTES:
            raise ProtocolViolation(f"helloOK maxFrameBytes {max_frame} outside 64 KiB…1 GiB")
        result = HelloOK(version, max_frame, max_blocks, uid, gid)
    elif message_type == MessageType.OK:
        result = None
    elif message_type == MessageType.SESSION_INFO:
        result = _decode_session_info(reader)
    elif message_type == MessageType.SESSION_LIST:
        count = reader.count(MAX_SESSIONS_PER_PAGE, 1 + 4 + 19 + 43, "session count")
        sessions = [_decode_session_info(reader) for _ in range(count)]
        result = SessionList(sessions, reader.bool("hasMore"))
    elif message_type == MessageType.APPENDED:
        count = reader.count(max_blocks_per_request, 16, "appended count")
        raw = reader.raw(16 * count, "ids")
        result = [raw[k * 16:(k + 1) * 16] for k in range(count)]
    elif message_type == MessageType.RETRIEVED:
        result = _decode_retrieved(reader, max_blocks_per_request)
    elif message_type == MessageType.BLOCKS:
        result = _decode_blocks(reader, max_blocks_per_request)
    elif message_type == MessageType.CHECKPOINT:
        sequence = reader.u64("chunkSequence")
        tokens = reader.u64("tokenCount")
        worker = reader.raw(reader.u32("workerState length"), "workerState")
        retrieval = reader.raw(reader.u32("retrievalState length"), "retrievalState")
        result = Checkpoint(sequence, tokens, worker, retrieval)
    elif message_type == MessageType.STATS_REPLY:
        result = _decode_stats(reader)
    elif message_type == MessageType.VERIFY_REPORT:
        result = _decode_verify(reader)
    elif message_type == MessageType.RELOADED:
        previous, current = reader.u8("previous"), reader.u8("current")
        if previous > 6 or current > 6:
            raise ProtocolViolation(f"reloaded levels {previous}, {current} outside 0…6")
        result = Reloaded(LogLevel(previous), LogLevel(current))
    elif message_type == MessageType.BACKUP_DONE:
        result = BackupDone(*reader.unpack(struct.Struct("<QQQQ"), "backupDone"))
    elif message_type == MessageType.SESSION_DETAIL:
        info = _decode_session_info(reader)
        open_connections = reader.u32("openConnections")
        shared = reader.u64("sharedBlocks")
        raw_bytes = reader.u64("rawBytes")
        per_layer = reader.array(np.dtype("<u8"), info.descriptor.layers, "layerStoredBytes")
        result = SessionDetail(info, open_connections, shared, raw_bytes,
                               tuple(int(v) for v in per_layer))
    else:
        raise ProtocolViolation(f"unexpected message type {message_type:#06x} from the server")
    reader.finish(_type_name(message_type))
    return result


def _type_name(message_type: int) -> str:
    try:
        return MessageType(message_type).name
    except ValueError:
        return f"{message_type:#06x}"


def _decode_retrieved(reader: _Reader, max_blocks: int) -> Retrieved:
    k, entropy, density, total, chosen_count = reader.unpack(_RETRIEVED_HEAD, "retrieved")
    if chosen_count > max_blocks:
        raise ProtocolViolation(f"chosenCount {chosen_count} above maxBlocksPerRequest")
    chosen = reader.array(np.dtype([("id", "V16"), ("position", "<u4")]), chosen_count,
                          "chosen")
    payload_bytes = reader.u32("payloadBytes")
    payload_count = reader.u32("payloadCount")
    if payload_count > chosen_count:
        raise ProtocolViolation(f"payloadCount {payload_count} > chosenCount {chosen_count}")
    if payload_count and payload_bytes == 0:
        raise ProtocolViolation("payloads of 0 bytes")
    entry = np.dtype([("index", "<u4"), ("payload", "u1", (payload_bytes,))])
    if payload_count * entry.itemsize != reader.remaining():
        raise ProtocolViolation(f"{payload_count} payloads of {payload_bytes} bytes do not "
                                f"fill the {reader.remaining()} bytes left")
    entries = reader.array(entry, payload_count, "payloads")
    indices = entries["index"]
    if payload_count and (np.any(indices >= chosen_count)
                          or np.any(np.diff(indices.astype(np.int64)) <= 0)):
        raise ProtocolViolation("payload indices not strictly increasing below chosenCount")
    ids_raw = chosen["id"].tobytes()
    return Retrieved(k, entropy, density, total,
                     [ids_raw[i * 16:(i + 1) * 16] for i in range(chosen_count)],
                     chosen["position"], payload_bytes, indices, entries["payload"])


def _decode_blocks(reader: _Reader, max_blocks: int) -> Blocks:
    key_dim = reader.u32("keyDim")
    payload_bytes = reader.u32("payloadBytes")
    if key_dim > MAX_VECTOR_DIM:
        raise ProtocolViolation(f"keyDim {key_dim} above {MAX_VECTOR_DIM}")
    count = reader.u32("block count")
    if count > max_blocks:
        raise ProtocolViolation(f"block count {count} above maxBlocksPerRequest")
    dtype = record_dtype(key_dim, payload_bytes, with_id=True)
    if count * dtype.itemsize != reader.remaining():
        raise ProtocolViolation(f"{count} blocks of {dtype.itemsize} bytes do not fill the "
                                f"{reader.remaining()} bytes left")
    records = reader.array(dtype, count, "blocks")
    ids_raw = records["id"].tobytes()
    hashes_raw = records["hash"].tobytes()
    return Blocks(key_dim, payload_bytes,
                  [ids_raw[i * 16:(i + 1) * 16] for i in range(count)],
                  records["layer"], records["position"],
                  [hashes_raw[i * 16:(i + 1) * 16] for i in range(count)],
                  records["key"], records["payload"])


def _decode_stats(reader: _Reader) -> Stats:
    head = reader.unpack(struct.Struct("<QIQQQQQQ"), "stats")
    counter_count = reader.count(MAX_STATS_ENTRIES, 1 + 8, "counterCount")
    counters: Dict[str, int] = {}
    for _ in range(counter_count):
        name = reader.str8("counter name")
        counters[name] = reader.u64("counter value")
    histogram_count = reader.count(MAX_STATS_ENTRIES, 1 + 8 + 4, "histogramCount")
    histograms = []
    for _ in range(histogram_count):
        name = reader.str8("histogram name")
        total = reader.f64("sumSeconds")
        bucket_count = reader.count(MAX_BUCKETS, 16, "bucketCount")
        buckets = [(reader.f64("upper bound"), reader.u64("count"))
                   for _ in range(bucket_count)]
        histograms.append(Histogram(name, total, buckets))
    uptime, connections, sessions, blocks, stored, capacity, requests, errors = head
    return Stats(uptime, connections, sessions, blocks, stored, capacity, requests, errors,
                 counters, histograms)


def _decode_verify(reader: _Reader) -> VerifyReport:
    ok = reader.bool("ok")
    checked, references, total = reader.u64("blocksChecked"), \
        reader.u64("referencesChecked"), reader.u64("failureTotal")
    count = reader.count(MAX_VERIFY_FAILURES, 21, "failureCount")
    if count > total:
        raise ProtocolViolation(f"failureCount {count} > failureTotal {total}")
    if ok and total:
        raise ProtocolViolation("verifyReport ok with failures")
    failures = []
    for _ in range(count):
        has_block = reader.bool("hasBlock")
        block = reader.ident("block")
        session = reader.str8("session")
        reason_code = reader.u16("reason")
        message = reader.str8("message")
        try:
            reason = VerifyReason(reason_code)
        except ValueError:
            reason = VerifyReason.OTHER
        failures.append(VerifyFailure(block if has_block else None, session, reason, message))
    return VerifyReport(ok, checked, references, total, failures)


# ----------------------------------------------------------------------------------------
# Frame splitting (sans I/O)


class FrameSplitter:
    """Splits a received byte stream into frames, checking each ``length`` as soon as its
    header is complete (before any of the body is buffered).

    Receive into :meth:`buffer`, then call :meth:`advance` with the number of bytes received;
    it returns the frames completed. Small frames are parsed out of a staging buffer (many per
    receive); the rest of a large body is received directly into the body, without a copy.
    """

    STAGING_BYTES = 256 * 1024

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._staging = bytearray(self.STAGING_BYTES)
        self._start = 0
        self._end = 0
        self._body: Optional[bytearray] = None
        self._filled = 0
        self._meta: Tuple[int, int] = (0, 0)
        self._direct = False

    @property
    def mid_frame(self) -> bool:
        """True while part of a frame has been received."""
        return self._end > self._start or self._body is not None

    def buffer(self) -> memoryview:
        """Where the next received bytes go."""
        if self._body is not None and self._start == self._end \
                and len(self._body) - self._filled >= self.STAGING_BYTES // 4:
            self._direct = True
            return memoryview(self._body)[self._filled:]
        self._direct = False
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._staging):
            pending = self._end - self._start
            self._staging[:pending] = self._staging[self._start:self._end]
            self._start, self._end = 0, pending
        return memoryview(self._staging)[self._end:]

    def advance(self, received: int) -> List[Frame]:
        """Account for ``received`` bytes written into the last :meth:`buffer`."""
        frames: List[Frame] = []
        if self._direct:
            self._filled += received
            self._complete(frames)
            return frames
        self._end += received
        while True:
            if self._body is None:
                if self._end - self._start < HEADER_BYTES:
                    break
                length, message_type, request_id = decode_header(
                    memoryview(self._staging)[self._start:self._start + HEADER_BYTES],
                    self.max_frame_bytes)
                self._start += HEADER_BYTES
                self._meta = (message_type, request_id)
                self._body = bytearray(length - MIN_LENGTH)
                self._filled = 0
            take = min(len(self._body) - self._filled, self._end - self._start)
            self._body[self._filled:self._filled + take] = \
                self._staging[self._start:self._start + take]
            self._filled += take
            self._start += take
            if not self._complete(frames):
                break
        return frames

    def _complete(self, frames: List[Frame]) -> bool:
        assert self._body is not None
        if self._filled < len(self._body):
            return False
        frames.append(Frame(self._meta[0], self._meta[1], self._body))
        self._body = None
        self._filled = 0
        return True
