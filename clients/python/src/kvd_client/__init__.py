"""Python client for kvd, the KV-block daemon of actqkv (protocol: docs/PROTOCOL.md).

>>> from kvd_client import Client, Descriptor
>>> with Client("/run/kvd/kvd.sock") as kvd:
...     kvd.stats().sessions
"""

from .aio import AsyncClient
from .client import Client, Pending
from .errors import *  # noqa: F401,F403 (the exception classes are part of the API)
from .errors import __all__ as _error_names
from .protocol import (ALL_BLOCKS, PROTOCOL_VERSION, BackupDone, Blocks, Checkpoint,
                       Descriptor, ElementType, HelloOK, Histogram, LogLevel, MessageType,
                       Method, Mode, Reloaded, Retrieved, SessionDetail, SessionInfo,
                       SessionList, Stats, VerifyFailure, VerifyReason, VerifyReport)

__version__ = "0.1.0"

__all__ = [
    "AsyncClient", "Client", "Pending", "ALL_BLOCKS", "PROTOCOL_VERSION", "BackupDone",
    "Blocks", "Checkpoint", "Descriptor", "ElementType", "HelloOK", "Histogram", "LogLevel",
    "MessageType", "Method", "Mode", "Reloaded", "Retrieved", "SessionDetail", "SessionInfo",
    "SessionList", "Stats", "VerifyFailure", "VerifyReason", "VerifyReport",
] + list(_error_names)
