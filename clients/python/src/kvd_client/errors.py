"""Exceptions of the kvd client.

Every error the daemon sends is an ``error`` frame (docs/PROTOCOL.md §6.6) carrying a stable
code (§7); each code has its own exception class here, all subclasses of :class:`RemoteError`
(itself a :class:`KVDError`). Problems found on the client side have their own classes:
:class:`ProtocolViolation` (the daemon sent something the document does not allow),
:class:`ConnectionLost` (the connection ended with requests unanswered) and
:class:`RequestTimeout` (no reply within the caller's timeout).
"""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Type

__all__ = [
    "KVDError",
    "RemoteError",
    "ProtocolViolation",
    "ConnectionLost",
    "RequestTimeout",
    "MalformedFrameError",
    "FrameTooLargeError",
    "UnsupportedVersionError",
    "BadMagicError",
    "UnknownMessageTypeError",
    "HandshakeRequiredError",
    "UnexpectedMessageError",
    "LimitExceededError",
    "SessionNotFoundError",
    "SessionExistsError",
    "PermissionDeniedError",
    "DescriptorMismatchError",
    "WrongDimensionsError",
    "BadPositionError",
    "BlockNotFoundError",
    "CheckpointNotFoundError",
    "SessionBusyError",
    "StorageFullError",
    "CapacityExceededError",
    "StorageError",
    "QuotaExceededError",
    "BadArgumentError",
    "ShuttingDownError",
    "OverloadedError",
    "TooManyConnectionsError",
    "ConnectionTimedOutError",
    "InternalError",
    "ERROR_CLASSES",
    "error_for_code",
]


class KVDError(Exception):
    """Base class of every exception raised by this package.

    ``code`` is the protocol's error code (§7) for errors the daemon sent, ``None`` otherwise.
    """

    code: Optional[int] = None


class RemoteError(KVDError):
    """An ``error`` frame from the daemon.

    Attributes:
        code: the protocol error code (§7), e.g. 10 for ``sessionNotFound``.
        message: the daemon's human-readable text (not for parsing).
        request_id: the id of the request it answers; 0 for a connection-level error (§8),
            ``None`` when the error was raised locally before anything was sent.
        received_code: the code as received; differs from ``code`` only for a code this
            client does not know, which is treated as ``internal`` (50) as §6.6 requires.
    """

    code: ClassVar[int] = 50  # type: ignore[misc]
    name: ClassVar[str] = "internal"
    closes_connection: ClassVar[bool] = False

    def __init__(self, message: str = "", request_id: Optional[int] = None,
                 received_code: Optional[int] = None) -> None:
        super().__init__(f"{self.name} ({self.code}): {message}" if message
                         else f"{self.name} ({self.code})")
        self.message = message
        self.request_id = request_id
        self.received_code = self.code if received_code is None else received_code


class ProtocolViolation(KVDError):
    """The daemon sent a frame that docs/PROTOCOL.md does not allow (bad length, truncated or
    oversized body, a count above a limit, an unexpected reply type...). The connection is
    closed: after a violation the byte stream cannot be trusted."""


class ConnectionLost(KVDError, ConnectionError):
    """The connection ended (or could not be made) while a request was unanswered.

    ``server_error`` is the connection-level error the daemon sent before closing (request
    id 0, e.g. ``shuttingDown``), if any.
    """

    def __init__(self, message: str, server_error: Optional[RemoteError] = None) -> None:
        super().__init__(message)
        self.server_error = server_error


class RequestTimeout(KVDError, TimeoutError):
    """No reply arrived within the timeout given to the client (seconds). The connection is
    closed, since a late reply could no longer be matched safely to its caller."""


def _make(name: str, code: int, closes: bool, doc: str) -> Type[RemoteError]:
    cls_name = name[0].upper() + name[1:]
    if not cls_name.endswith("Error"):
        cls_name += "Error"
    cls = type(cls_name, (RemoteError,), {
        "code": code, "name": name, "closes_connection": closes,
        "__doc__": f"``{name}`` ({code}): {doc}",
    })
    return cls  # type: ignore[return-value]


MalformedFrameError = _make("malformedFrame", 1, False,
                            "the body does not follow its layout, or a frame length < 12 "
                            "(then with request id 0 and the connection closed).")
FrameTooLargeError = _make("frameTooLarge", 2, True,
                           "a frame length above the receiver's maximum (request id 0).")
UnsupportedVersionError = _make("unsupportedVersion", 3, True,
                                "the hello's version is not supported.")
BadMagicError = _make("badMagic", 4, True, "the hello does not start with \"KVD\\0\".")
UnknownMessageTypeError = _make("unknownMessageType", 5, False, "unknown message type.")
HandshakeRequiredError = _make("handshakeRequired", 6, True,
                               "a request before a successful hello.")
UnexpectedMessageError = _make("unexpectedMessage", 7, False,
                               "a second hello, or a reply type sent to the server.")
LimitExceededError = _make("limitExceeded", 8, False, "a count or size above a limit (§3).")
SessionNotFoundError = _make("sessionNotFound", 10, False,
                             "no such session visible to the caller.")
SessionExistsError = _make("sessionExists", 11, False, "create/fork target already exists.")
PermissionDeniedError = _make("permissionDenied", 12, False,
                              "the caller may not perform this request.")
DescriptorMismatchError = _make("descriptorMismatch", 13, False,
                                "a descriptor differs from the session's.")
WrongDimensionsError = _make("wrongDimensions", 14, False,
                             "key, probe, question or payload size differs from the "
                             "session's D or P.")
BadPositionError = _make("badPosition", 15, False,
                         "layer out of range, or an appended position is not the layer's "
                         "next index.")
BlockNotFoundError = _make("blockNotFound", 16, False, "a fetched id is not in the session.")
CheckpointNotFoundError = _make("checkpointNotFound", 17, False,
                                "the session has no checkpoint.")
SessionBusyError = _make("sessionBusy", 18, False,
                         "drop of a session held open by another connection.")
StorageFullError = _make("storageFull", 20, False,
                         "the store's map is full; nothing was written.")
CapacityExceededError = _make("capacityExceeded", 21, False,
                              "capacity reached and nothing evictable; nothing was written.")
StorageError = _make("storageError", 22, False,
                     "the storage engine failed; nothing was written.")
QuotaExceededError = _make("quotaExceeded", 23, False,
                           "the caller's owner quota is reached; nothing was written.")
BadArgumentError = _make("badArgument", 30, False, "a field outside its domain.")
ShuttingDownError = _make("shuttingDown", 40, True,
                          "the server is stopping and takes no new requests.")
OverloadedError = _make("overloaded", 41, False, "too many requests in flight; retry later.")
TooManyConnectionsError = _make("tooManyConnections", 42, True,
                                "the daemon's connection limit is reached.")
ConnectionTimedOutError = _make("connectionTimedOut", 43, True,
                                "no hello within the handshake timeout, or no request within "
                                "the idle timeout.")
InternalError = _make("internal", 50, False,
                      "unexpected server failure (also any code this client does not know).")

#: Exception class of every error code of docs/PROTOCOL.md §7.
ERROR_CLASSES: Dict[int, Type[RemoteError]] = {
    cls.code: cls for cls in (
        MalformedFrameError, FrameTooLargeError, UnsupportedVersionError, BadMagicError,
        UnknownMessageTypeError, HandshakeRequiredError, UnexpectedMessageError,
        LimitExceededError, SessionNotFoundError, SessionExistsError, PermissionDeniedError,
        DescriptorMismatchError, WrongDimensionsError, BadPositionError, BlockNotFoundError,
        CheckpointNotFoundError, SessionBusyError, StorageFullError, CapacityExceededError,
        StorageError, QuotaExceededError, BadArgumentError, ShuttingDownError,
        OverloadedError, TooManyConnectionsError, ConnectionTimedOutError, InternalError,
    )
}


def error_for_code(code: int, message: str = "",
                   request_id: Optional[int] = None) -> RemoteError:
    """The typed exception for an error frame; an unknown code becomes :class:`InternalError`
    with ``received_code`` set to the code received (§6.6)."""
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return InternalError(message, request_id, received_code=code)
    return cls(message, request_id)
