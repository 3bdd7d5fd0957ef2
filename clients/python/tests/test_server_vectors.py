"""The malformed-request vectors sent to a real kvd: each gets its documented error."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Dict, List, Optional

import pytest

from kvd_client import protocol as p

from conftest import VECTORS, Daemon


def load(file_name: str) -> List[Dict[str, Any]]:
    return json.loads((VECTORS / file_name).read_text())["vectors"]


def _descriptor(d: Dict[str, int]) -> p.Descriptor:
    return p.Descriptor(d["layers"], d["queryHeads"], d["kvHeads"], d["headDim"],
                        d["elementType"], d["blockSize"], d["fingerprint"])


class RawConnection:
    """A bare socket speaking frames, for bytes no client would send."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.splitter = p.FrameSplitter(p.DEFAULT_MAX_FRAME_BYTES)
        self.frames: List[p.Frame] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> Optional[p.Frame]:
        """The next frame, or None at end of stream."""
        while not self.frames:
            buffer = self.splitter.buffer()
            n = self.sock.recv_into(buffer)
            if n == 0:
                return None
            self.frames += self.splitter.advance(n)
        return self.frames.pop(0)

    def request(self, data: bytes) -> p.Frame:
        self.send(data)
        frame = self.read()
        assert frame is not None, "connection closed"
        return frame

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("vector", load("server-requests.json"), ids=lambda v: v["name"])
def test_server_answers_malformed_request(kvd: Daemon, vector: Dict[str, Any]) -> None:
    descriptor = _descriptor(json.loads((VECTORS / "server-requests.json").read_text())
                             ["descriptor"])
    connection = RawConnection(kvd.socket)
    try:
        if vector["context"] in ("handshake", "session"):
            reply = connection.request(p.encode_hello(1))
            assert reply.type == p.MessageType.HELLO_OK
        if vector["context"] == "session":
            # "vec" is this connection's fresh session: drop the one an earlier vector left
            # (sessionBusy until the server has seen that vector's connection close).
            deadline = time.monotonic() + 10
            while True:
                dropped = connection.request(
                    p.encode_name_request(p.MessageType.DROP_SESSION, 3, "vec"))
                answer = p.decode_reply(dropped.type, dropped.body)
                if not (isinstance(answer, p.ErrorReply) and answer.code == 18) \
                        or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            reply = connection.request(p.encode_create_session(2, "vec", descriptor))
            assert reply.type == p.MessageType.SESSION_INFO, p.decode_reply(reply.type,
                                                                            reply.body)
        connection.send(bytes.fromhex(vector["hex"]))
        reply = connection.read()
        expect = vector["expect"]
        assert reply is not None, "closed without an error frame"
        decoded = p.decode_reply(reply.type, reply.body)
        if "reply" in expect:
            assert (reply.type, reply.request_id) == (expect["replyTypeCode"],
                                                      expect["requestID"]), decoded
        else:
            assert isinstance(decoded, p.ErrorReply), decoded
            assert (decoded.code, reply.request_id) == (expect["code"],
                                                        expect["requestID"]), decoded.message
        if expect["closes"]:
            assert connection.read() is None
        else:
            # Still usable (and, after the handshake, still handshaken).
            handshaken = vector["context"] != "connected" or "reply" in expect
            follow = connection.request(p.encode_stats(99) if handshaken
                                        else p.encode_hello(99))
            assert follow.request_id == 99
            assert follow.type in (p.MessageType.STATS_REPLY, p.MessageType.HELLO_OK)
    finally:
        connection.close()


def test_end_of_stream_answers_what_was_read(kvd: Daemon) -> None:
    """§8: after shutdown(SHUT_WR) every complete request is answered, then the server closes;
    a partial frame before the end is dropped."""
    connection = RawConnection(kvd.socket)
    try:
        connection.send(p.encode_hello(1) + p.encode_stats(2) + p.encode_stats(3)
                        + p.encode_stats(4)[:10])
        connection.sock.shutdown(socket.SHUT_WR)
        frames = [connection.read() for _ in range(3)]
        assert [(f.type, f.request_id) for f in frames] == [
            (p.MessageType.HELLO_OK, 1), (p.MessageType.STATS_REPLY, 2),
            (p.MessageType.STATS_REPLY, 3)]
        assert connection.read() is None
    finally:
        connection.close()
