"""asyncio client of kvd (docs/PROTOCOL.md).

One :class:`AsyncClient` is one connection, usable from many tasks at once: each request gets
its own id and future, a reader task matches replies to them by id, and frames are written
whole (never interleaved). Pipelining is natural: start several calls (``asyncio.gather``, or
:meth:`AsyncClient.submit_append_blocks`, which returns once the frame is written) before
awaiting their replies.
"""

from __future__ import annotations

import asyncio
from typing import Dict, List, Optional, TypeVar

from . import _requests as rq
from . import protocol as p
from .errors import (ConnectionLost, FrameTooLargeError, KVDError, ProtocolViolation,
                     RemoteError, RequestTimeout)

T = TypeVar("T")

__all__ = ["AsyncClient"]


class AsyncClient:
    """A connection to kvd for asyncio. Create with :meth:`connect`.

    ``timeout`` (seconds, None = none) bounds each call's wait for its reply; after a timeout
    the connection is closed, as in the synchronous client.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 timeout: Optional[float], max_frame_bytes: int) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self.max_frame_bytes = max_frame_bytes
        self._next_id = 1
        self._pending: Dict[int, "asyncio.Future[p.Frame]"] = {}
        self._descriptors: rq.Descriptors = {}
        self._closed_error: Optional[KVDError] = None
        self._server_error: Optional[RemoteError] = None
        self._write_lock = asyncio.Lock()
        self.server: Optional[p.HelloOK] = None
        self._reader_task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def connect(cls, path: str, *, timeout: Optional[float] = 30.0,
                      max_frame_bytes: int = p.DEFAULT_MAX_FRAME_BYTES,
                      version: int = p.PROTOCOL_VERSION,
                      handshake: bool = True) -> "AsyncClient":
        """Connect to the daemon's socket ``path`` and (unless ``handshake=False``) do the
        handshake."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(path, limit=1 << 20), timeout)
        except (OSError, asyncio.TimeoutError) as error:
            raise ConnectionLost(f"cannot connect to {path}: {error!r}") from error
        client = cls(reader, writer, timeout=timeout, max_frame_bytes=max_frame_bytes)
        if handshake:
            await client.handshake(version)
        return client

    async def handshake(self, version: int = p.PROTOCOL_VERSION) -> p.HelloOK:
        """``hello`` → ``helloOK`` (§4)."""
        reply = await self.call(rq.hello(self.max_frame_bytes, version))
        try:
            p.check_hello(reply, version)
        except ProtocolViolation as error:
            self._fail(error)
            raise
        self.server = reply
        return reply

    @property
    def max_blocks(self) -> int:
        """The server's limit on blocks per request."""
        return self.server.max_blocks_per_request if self.server else 0xFFFFFFFF

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return self._closed_error is not None

    async def close(self) -> None:
        """Close the connection (the server releases the sessions it held)."""
        self._fail(ConnectionLost("connection closed by the client"))
        self._reader_task.cancel()
        try:
            await self._reader_task
        except (asyncio.CancelledError, Exception):
            pass
        try:
            await self._writer.wait_closed()
        except (OSError, ConnectionError):
            pass

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ----------------------------------------------------------------------

    def _fail(self, error: KVDError) -> None:
        if self._closed_error is None:
            self._closed_error = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._closed_error)
        self._pending.clear()
        self._writer.close()

    async def _read_loop(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(p.HEADER_BYTES)
                length, message_type, request_id = p.decode_header(header,
                                                                   self.max_frame_bytes)
                body = await self._reader.readexactly(length - p.MIN_LENGTH)
                if request_id == 0:
                    reply = p.decode_reply(message_type, body)
                    if not isinstance(reply, p.ErrorReply):
                        raise ProtocolViolation(f"unsolicited frame {message_type:#06x}")
                    self._server_error = reply.exception(0)
                    continue
                future = self._pending.pop(request_id, None)
                if future is None:
                    raise ProtocolViolation(f"reply to unknown request id {request_id}")
                if not future.done():
                    future.set_result(p.Frame(message_type, request_id, body))
        except asyncio.IncompleteReadError as error:
            self._fail(self._server_error or ConnectionLost(
                "connection closed by the server" + (" mid-frame" if error.partial else "")))
        except (OSError, ConnectionError) as error:
            self._fail(self._server_error or ConnectionLost(f"receive failed: {error!r}"))
        except ProtocolViolation as error:
            self._fail(error)

    async def submit(self, request: rq.Request[T]) -> "asyncio.Future[T]":
        """Write ``request`` and return a future of its value, without waiting for the reply.
        """
        if self._closed_error is not None:
            raise self._closed_error
        request_id = self._next_id
        self._next_id += 1
        frame = request.encode(request_id)
        limit = self.server.max_frame_bytes if self.server else p.PRE_HANDSHAKE_MAX_FRAME_BYTES
        if len(frame) - 4 > limit:
            raise FrameTooLargeError(f"{request.description}: frame length {len(frame) - 4} "
                                     f"above the server's maximum {limit}; nothing sent")
        loop = asyncio.get_running_loop()
        reply: "asyncio.Future[p.Frame]" = loop.create_future()
        self._pending[request_id] = reply
        async with self._write_lock:
            try:
                self._writer.write(frame)
                await self._writer.drain()
            except (OSError, ConnectionError) as error:
                self._fail(self._server_error or ConnectionLost(f"send failed: {error!r}"))
        return asyncio.ensure_future(self._finish(request, reply))

    async def _finish(self, request: rq.Request[T], reply: "asyncio.Future[p.Frame]") -> T:
        try:
            frame = await asyncio.wait_for(asyncio.shield(reply), self.timeout)
        except asyncio.TimeoutError:
            self._fail(ConnectionLost("connection closed after a timeout"))
            raise RequestTimeout(f"{request.description}: no reply within {self.timeout} s; "
                                 "connection closed") from None
        try:
            return rq.finish(request, frame, self.max_blocks, self._descriptors)
        except ProtocolViolation as error:
            self._fail(error)
            raise

    async def call(self, request: rq.Request[T]) -> T:
        """Send ``request`` and await its value."""
        return await (await self.submit(request))

    # -- API (same meaning and units as the synchronous Client) ------------------------

    async def create_session(self, name: str, descriptor: p.Descriptor) -> p.SessionInfo:
        """Create session ``name`` (§6.2); held open by this connection."""
        return await self.call(rq.create_session(name, descriptor))

    async def open_session(self, name: str) -> p.SessionInfo:
        """Open (and hold) an existing session."""
        return await self.call(rq.open_session(name))

    async def close_session(self, name: str) -> None:
        """Release a session this connection holds."""
        await self.call(rq.close_session(name))

    async def drop_session(self, name: str) -> None:
        """Delete a session."""
        await self.call(rq.drop_session(name))

    async def inspect_session(self, name: str) -> p.SessionDetail:
        """Describe a session without opening it."""
        return await self.call(rq.inspect_session(name))

    async def list_sessions(self, after: str = "", limit: int = 0) -> p.SessionList:
        """One page of sessions bytewise after ``after``."""
        return await self.call(rq.list_sessions(after, limit))

    async def fork_session(self, source: str, target: str, block_count: int = p.ALL_BLOCKS,
                           copy_checkpoint: bool = False) -> p.SessionInfo:
        """Fork ``source`` into ``target`` sharing its first ``block_count`` blocks."""
        return await self.call(rq.fork_session(source, target, block_count, copy_checkpoint))

    async def submit_append_blocks(self, session: str, layers: object, positions: object,
                                   prefix_hashes: object, keys: object,
                                   payloads: object) -> "asyncio.Future[List[bytes]]":
        """Write an ``appendBlocks`` and return a future of its ids (pipelining)."""
        return await self.submit(rq.append_blocks(session, layers, positions, prefix_hashes,
                                                  keys, payloads))

    async def append_blocks(self, session: str, layers: object, positions: object,
                            prefix_hashes: object, keys: object,
                            payloads: object) -> List[bytes]:
        """Append n blocks atomically (see ``Client.append_blocks``); their ids."""
        return await self.call(rq.append_blocks(session, layers, positions, prefix_hashes,
                                                keys, payloads))

    async def retrieve(self, session: str, layer: int, probe: object, *,
                       method: int = p.Method.ACTQKV, mode: int = p.Mode.PREFILL,
                       chunk_sequence: int = 0, question: object = None,
                       question_weight: float = 0.0, held_ids: object = (),
                       want_payloads: bool = False) -> p.Retrieved:
        """Score a layer's blocks against ``probe`` and return the chosen ones."""
        return await self.call(rq.retrieve(session, layer, probe, method, mode,
                                           chunk_sequence, question, question_weight,
                                           held_ids, want_payloads))

    async def fetch_blocks(self, session: str, ids: object) -> p.Blocks:
        """Fetch blocks of ``session`` by id."""
        return await self.call(rq.fetch_blocks(session, ids))

    async def put_checkpoint(self, session: str, chunk_sequence: int, token_count: int,
                             worker_state: bytes) -> None:
        """Store the session's checkpoint."""
        await self.call(rq.put_checkpoint(session, chunk_sequence, token_count, worker_state))

    async def get_checkpoint(self, session: str, restore: bool = False) -> p.Checkpoint:
        """Read the session's checkpoint (``restore``: reset retrieval state to it)."""
        return await self.call(rq.get_checkpoint(session, restore))

    async def stats(self) -> p.Stats:
        """Server statistics."""
        return await self.call(rq.stats())

    async def verify(self, max_failures: int = 0) -> p.VerifyReport:
        """Check the whole store (admin only)."""
        return await self.call(rq.verify(max_failures))

    async def reload(self, level: Optional[int] = None) -> p.Reloaded:
        """Set the log level or re-read the configuration (admin only)."""
        return await self.call(rq.reload(level))

    async def backup(self, path: str) -> p.BackupDone:
        """Hot backup of the store into ``path`` on the daemon's host (admin only)."""
        return await self.call(rq.backup(path))
