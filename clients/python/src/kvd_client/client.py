"""Synchronous client of kvd (docs/PROTOCOL.md).

One :class:`Client` is one connection. Calls block until their reply arrives (at most
``timeout`` seconds). Pipelining: :meth:`Client.submit_append_blocks` (and :meth:`submit`)
send a request and return a :class:`Pending` without waiting; replies are matched by request
id, and the client keeps reading replies while it writes, so a long pipeline cannot deadlock
on full socket buffers. A ``Client`` is not thread-safe: use one per thread.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Dict, Generic, List, Optional, Set, TypeVar, Union

import numpy as np

from . import _requests as rq
from . import protocol as p
from .errors import ConnectionLost, KVDError, ProtocolViolation, RemoteError, RequestTimeout

T = TypeVar("T")

__all__ = ["Client", "Pending"]


class Pending(Generic[T]):
    """A request sent and not yet answered. :meth:`result` waits for its reply."""

    def __init__(self, client: "Client", request: rq.Request[T], request_id: int) -> None:
        self._client = client
        self._request = request
        self.request_id = request_id
        self._done = False
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None

    def result(self, timeout: Optional[float] = None) -> T:
        """The reply's value, or raise its typed error. ``timeout`` in seconds (default: the
        client's)."""
        if not self._done:
            try:
                frame = self._client._wait(self.request_id, timeout)
                self._value = rq.finish(self._request, frame, self._client.max_blocks,
                                        self._client._descriptors)
            except RemoteError as error:
                self._error = error
            except ProtocolViolation as error:
                self._client._fail(error)
                self._error = error
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Client:
    """A connection to kvd over its Unix-domain socket.

    Args:
        path: the daemon's socket path.
        timeout: seconds to wait for a reply (and to connect); None waits forever. After a
            timeout the connection is closed (a late reply could not be matched safely).
        max_frame_bytes: the largest frame ``length`` (bytes) this client accepts, announced
            in ``hello``; 64 KiB…1 GiB.
        inline_read_microseconds: how long a call polls for its reply before it sleeps in
            ``poll(2)`` (µs; 0: sleep at once). Spares a wake-up on fast replies.
        version: the protocol version to ask for (this client speaks 1).
    """

    def __init__(self, path: str, *, timeout: Optional[float] = 30.0,
                 max_frame_bytes: int = p.DEFAULT_MAX_FRAME_BYTES,
                 version: int = p.PROTOCOL_VERSION, handshake: bool = True,
                 inline_read_microseconds: float = 150.0) -> None:
        self.path = path
        self.timeout = timeout
        self.max_frame_bytes = max_frame_bytes
        self.inline_read_seconds = inline_read_microseconds / 1e6
        self._version = version
        self._next_id = 1
        self._replies: Dict[int, p.Frame] = {}
        self._outstanding: Set[int] = set()
        self._descriptors: rq.Descriptors = {}
        self._closed_error: Optional[KVDError] = None
        self._server_error: Optional[RemoteError] = None
        self._splitter = p.FrameSplitter(max_frame_bytes)
        self.server: Optional[p.HelloOK] = None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
        except OSError as error:
            self._sock.close()
            raise ConnectionLost(f"cannot connect to {path}: {error}") from error
        self._sock.setblocking(False)
        self._poller = select.poll()
        if handshake:
            self.handshake()

    # -- lifecycle ---------------------------------------------------------------------

    def handshake(self) -> p.HelloOK:
        """Send ``hello`` and wait for ``helloOK`` (§4); done by the constructor unless
        ``handshake=False``."""
        reply = self.call(rq.hello(self.max_frame_bytes, self._version))
        try:
            p.check_hello(reply, self._version)
        except ProtocolViolation as error:
            self._fail(error)
            raise
        self.server = reply
        return reply

    @property
    def max_blocks(self) -> int:
        """The server's limit on blocks per request (``helloOK``)."""
        return self.server.max_blocks_per_request if self.server else 0xFFFFFFFF

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by either side)."""
        return self._closed_error is not None

    def close(self) -> None:
        """Close the connection; sessions it held open are released by the server."""
        if self._closed_error is None:
            self._closed_error = ConnectionLost("connection closed by the client")
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request plumbing --------------------------------------------------------------

    def submit(self, request: rq.Request[T]) -> Pending[T]:
        """Send ``request`` without waiting for its reply."""
        self._check_open()
        request_id = self._next_id
        self._next_id += 1
        frame = request.encode(request_id)
        limit = self.server.max_frame_bytes if self.server else p.PRE_HANDSHAKE_MAX_FRAME_BYTES
        if len(frame) - 4 > limit:
            from .errors import FrameTooLargeError
            raise FrameTooLargeError(f"{request.description}: frame length {len(frame) - 4} "
                                     f"above the server's maximum {limit}; nothing sent")
        self._outstanding.add(request_id)
        self._send(frame)
        return Pending(self, request, request_id)

    def call(self, request: rq.Request[T]) -> T:
        """Send ``request`` and wait for its value."""
        return self.submit(request).result()

    def _check_open(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error

    def _fail(self, error: KVDError) -> None:
        if self._closed_error is None:
            self._closed_error = error
        try:
            self._sock.close()
        except OSError:
            pass

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        timeout = self.timeout if timeout is None else timeout
        return None if timeout is None else time.monotonic() + timeout

    def _select(self, write: bool, deadline: Optional[float]) -> bool:
        """Wait until readable (or writable, if ``write``); False on timeout."""
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._poller.register(self._sock, select.POLLIN | (select.POLLOUT if write else 0))
        events = self._poller.poll(None if remaining is None else remaining * 1000.0)
        return bool(events)

    def _receive_available(self) -> None:
        """Read every byte available now, without blocking, and store complete replies. On
        end of stream or a socket error the connection is marked closed (not raised here:
        replies already received stay available)."""
        while self._closed_error is None:
            buffer = self._splitter.buffer()
            try:
                received = self._sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                self._mark_lost(f"receive failed: {error}")
                return
            if received == 0:
                self._mark_lost("connection closed by the server"
                                + (" mid-frame" if self._splitter.mid_frame else ""))
                return
            try:
                frames = self._splitter.advance(received)
            except ProtocolViolation as error:
                self._fail(error)
                raise
            for frame in frames:
                self._store(frame)
            if received < len(buffer):
                return

    def _store(self, frame: p.Frame) -> None:
        if frame.request_id == 0:
            reply = p.decode_reply(frame.type, frame.body)
            if not isinstance(reply, p.ErrorReply):
                error = ProtocolViolation(f"unsolicited frame {frame.type:#06x} with id 0")
                self._fail(error)
                raise error
            self._server_error = reply.exception(0)
            return
        if frame.request_id not in self._outstanding:
            error = ProtocolViolation(f"reply {frame.type:#06x} to request id "
                                      f"{frame.request_id}, which is not awaiting one")
            self._fail(error)
            raise error
        self._outstanding.discard(frame.request_id)
        self._replies[frame.request_id] = frame

    def _mark_lost(self, message: str) -> None:
        """The connection ended: unanswered requests fail with the server's last word (a
        connection-level error, id 0) if it sent one, else :class:`ConnectionLost`."""
        error: KVDError = self._server_error if self._server_error is not None \
            else ConnectionLost(message)
        self._fail(error)

    def _timed_out(self, what: str) -> None:
        error = RequestTimeout(f"no progress {what} within {self.timeout} s; connection "
                               "closed")
        self._fail(ConnectionLost("connection closed after a timeout"))
        raise error

    def _send(self, frame: Union[bytes, bytearray]) -> None:
        view = memoryview(frame)
        deadline = self._deadline(None)
        while view:
            self._check_open()
            try:
                sent = self._sock.send(view)
                view = view[sent:]
                continue
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as error:
                # The server may have closed with a last word (e.g. frameTooLarge, id 0).
                self._receive_available()
                self._mark_lost(f"send failed: {error}")
                continue
            # The socket is full: read replies meanwhile, so the server can go on writing.
            if not self._select(True, deadline):
                self._timed_out("sending a request")
            self._receive_available()

    def _spin(self, request_id: int) -> bool:
        """Poll the socket without sleeping for up to ``inline_read_microseconds``: a fast
        reply is then taken without a thread wake-up (as the Swift client does). True when
        something changed."""
        if self.inline_read_seconds <= 0:
            return False
        end = time.perf_counter() + self.inline_read_seconds
        while time.perf_counter() < end:
            self._receive_available()
            if request_id in self._replies or self._closed_error is not None:
                return True
        return False

    def _wait(self, request_id: int, timeout: Optional[float]) -> p.Frame:
        deadline = self._deadline(timeout)
        while True:
            if request_id in self._replies:
                return self._replies.pop(request_id)
            self._check_open()
            self._receive_available()
            if request_id in self._replies or self._closed_error is not None:
                continue
            if self._spin(request_id):
                continue
            if not self._select(False, deadline):
                self._timed_out(f"waiting for reply {request_id}")

    # -- API ---------------------------------------------------------------------------

    def create_session(self, name: str, descriptor: p.Descriptor) -> p.SessionInfo:
        """Create session ``name`` for a model (§6.2); the connection holds it open."""
        return self.call(rq.create_session(name, descriptor))

    def open_session(self, name: str) -> p.SessionInfo:
        """Open (and hold) an existing session."""
        return self.call(rq.open_session(name))

    def close_session(self, name: str) -> None:
        """Release a session this connection holds."""
        self.call(rq.close_session(name))

    def drop_session(self, name: str) -> None:
        """Delete a session (``sessionBusy`` if another connection holds it)."""
        self.call(rq.drop_session(name))

    def inspect_session(self, name: str) -> p.SessionDetail:
        """Describe a session without opening it (§6.10)."""
        return self.call(rq.inspect_session(name))

    def list_sessions(self, after: str = "", limit: int = 0) -> p.SessionList:
        """One page of sessions with names bytewise after ``after`` (``limit`` 0 = 4096)."""
        return self.call(rq.list_sessions(after, limit))

    def all_sessions(self) -> List[p.SessionInfo]:
        """Every session visible to the caller, following ``hasMore``."""
        sessions: List[p.SessionInfo] = []
        after = ""
        while True:
            page = self.list_sessions(after)
            sessions += page.sessions
            if not page.has_more or not page.sessions:
                return sessions
            after = page.sessions[-1].name

    def fork_session(self, source: str, target: str, block_count: int = p.ALL_BLOCKS,
                     copy_checkpoint: bool = False) -> p.SessionInfo:
        """Make ``target`` share the first ``block_count`` blocks of every layer of
        ``source`` (all by default); nothing is copied."""
        return self.call(rq.fork_session(source, target, block_count, copy_checkpoint))

    def submit_append_blocks(self, session: str, layers: object, positions: object,
                             prefix_hashes: object, keys: object,
                             payloads: object) -> Pending[List[bytes]]:
        """Send an ``appendBlocks`` without waiting (pipelining, §5); see
        :meth:`append_blocks` for the arguments."""
        return self.submit(rq.append_blocks(session, layers, positions, prefix_hashes, keys,
                                            payloads))

    def append_blocks(self, session: str, layers: object, positions: object,
                      prefix_hashes: object, keys: object, payloads: object) -> List[bytes]:
        """Append n closed blocks atomically; returns their ids in request order.

        Args:
            layers: n layer indices.
            positions: n positions, each the layer's current block count at that point.
            prefix_hashes: n 16-byte prefix hashes (bytes, or an (n, 16) uint8 array).
            keys: (n, D) float32 representative keys.
            payloads: n payloads of P bytes: e.g. (n, 2, kvHeads, blockSize, headDim)
                float16, K then V.
        """
        return self.submit_append_blocks(session, layers, positions, prefix_hashes, keys,
                                         payloads).result()

    def retrieve(self, session: str, layer: int, probe: object, *,
                 method: int = p.Method.ACTQKV, mode: int = p.Mode.PREFILL,
                 chunk_sequence: int = 0, question: object = None,
                 question_weight: float = 0.0, held_ids: object = (),
                 want_payloads: bool = False) -> p.Retrieved:
        """Score ``layer``'s blocks against ``probe`` (D floats) and return the chosen ones,
        best first, with the payloads of those not in ``held_ids`` if ``want_payloads``."""
        return self.call(rq.retrieve(session, layer, probe, method, mode, chunk_sequence,
                                     question, question_weight, held_ids, want_payloads))

    def fetch_blocks(self, session: str, ids: object) -> p.Blocks:
        """Fetch blocks of ``session`` by id: keys, payloads, layers, positions, hashes."""
        return self.call(rq.fetch_blocks(session, ids))

    def put_checkpoint(self, session: str, chunk_sequence: int, token_count: int,
                       worker_state: bytes) -> None:
        """Store the session's checkpoint (replacing any previous one)."""
        self.call(rq.put_checkpoint(session, chunk_sequence, token_count, worker_state))

    def get_checkpoint(self, session: str, restore: bool = False) -> p.Checkpoint:
        """Read the session's checkpoint; ``restore`` also resets the server's retrieval
        state to it."""
        return self.call(rq.get_checkpoint(session, restore))

    def stats(self) -> p.Stats:
        """Server statistics (§6.5)."""
        return self.call(rq.stats())

    def verify(self, max_failures: int = 0) -> p.VerifyReport:
        """Check the whole store (administrator uids only; §6.7)."""
        return self.call(rq.verify(max_failures))

    def reload(self, level: Optional[int] = None) -> p.Reloaded:
        """Set the daemon's log level, or re-read its configuration (admin only; §6.8)."""
        return self.call(rq.reload(level))

    def backup(self, path: str) -> p.BackupDone:
        """Make the daemon copy its store into ``path`` on its host (admin only; §6.9)."""
        return self.call(rq.backup(path))


def ids_array(ids: List[bytes]) -> np.ndarray:
    """Ids as a 1-D ``V16`` array (e.g. for ``held_ids``)."""
    return p.as_ids(ids)
