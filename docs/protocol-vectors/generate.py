#!/usr/bin/env python3
"""Writes the conformance vectors of docs/PROTOCOL.md (see README.md in this directory).

Written from the document's tables alone, with nothing but `struct`: it shares no code with
any client or with kvd. The JSON files it writes are committed; they are the golden vectors.
Run it again only when PROTOCOL.md changes (`python3 docs/protocol-vectors/generate.py`),
and review the diff: every changed byte must be explained by a change of the document.
`--check` exits 1 if the committed files differ from what this script writes.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent

# Message types (§6).
T = {
    "hello": 0x0001, "createSession": 0x0010, "openSession": 0x0011, "closeSession": 0x0012,
    "listSessions": 0x0013, "dropSession": 0x0014, "forkSession": 0x0015,
    "appendBlocks": 0x0020, "retrieve": 0x0021, "fetchBlocks": 0x0022,
    "putCheckpoint": 0x0030, "getCheckpoint": 0x0031, "stats": 0x0040, "verify": 0x0041,
    "reload": 0x0050, "backup": 0x0051, "inspectSession": 0x0052,
    "helloOK": 0x8001, "ok": 0x8002, "sessionInfo": 0x8010, "sessionList": 0x8013,
    "appended": 0x8020, "retrieved": 0x8021, "blocks": 0x8022, "checkpoint": 0x8031,
    "statsReply": 0x8040, "verifyReport": 0x8041, "reloaded": 0x8050, "backupDone": 0x8051,
    "sessionDetail": 0x8052, "error": 0xFFFF,
}

# Error codes (§7).
E = {
    "malformedFrame": 1, "frameTooLarge": 2, "unsupportedVersion": 3, "badMagic": 4,
    "unknownMessageType": 5, "handshakeRequired": 6, "unexpectedMessage": 7,
    "limitExceeded": 8, "sessionNotFound": 10, "sessionExists": 11, "permissionDenied": 12,
    "descriptorMismatch": 13, "wrongDimensions": 14, "badPosition": 15, "blockNotFound": 16,
    "checkpointNotFound": 17, "sessionBusy": 18, "storageFull": 20, "capacityExceeded": 21,
    "storageError": 22, "quotaExceeded": 23, "badArgument": 30, "shuttingDown": 40,
    "overloaded": 41, "tooManyConnections": 42, "connectionTimedOut": 43, "internal": 50,
}

Layout = List[Tuple[str, bytes]]


def u8(v: int) -> bytes: return struct.pack("<B", v)
def u16(v: int) -> bytes: return struct.pack("<H", v)
def u32(v: int) -> bytes: return struct.pack("<I", v)
def u64(v: int) -> bytes: return struct.pack("<Q", v)
def f32(v: float) -> bytes: return struct.pack("<f", v)
def f64(v: float) -> bytes: return struct.pack("<d", v)
def f16(v: float) -> bytes: return struct.pack("<e", v)


def name(s: str, field: str) -> Layout:
    raw = s.encode("utf-8")
    return [(f"{field}.len", u8(len(raw))), (field, raw)]


def raw_name(raw: bytes, field: str) -> Layout:
    return [(f"{field}.len", u8(len(raw))), (field, raw)]


def f32s(values: List[float], field: str) -> Layout:
    return [(field, b"".join(f32(v) for v in values))]


# The tiny model every session vector uses: D = 2·2 = 4, P = 2·1·2·2·2 = 16 bytes.
DESCRIPTOR = {"layers": 2, "queryHeads": 2, "kvHeads": 1, "headDim": 2, "elementType": 1,
              "blockSize": 2, "fingerprint": 0x0123456789ABCDEF}


def descriptor(d: Dict[str, int], prefix: str = "descriptor") -> Layout:
    return [(f"{prefix}.layers", u16(d["layers"])), (f"{prefix}.queryHeads", u16(d["queryHeads"])),
            (f"{prefix}.kvHeads", u16(d["kvHeads"])), (f"{prefix}.headDim", u16(d["headDim"])),
            (f"{prefix}.elementType", u8(d["elementType"])),
            (f"{prefix}.blockSize", u16(d["blockSize"])),
            (f"{prefix}.fingerprint", u64(d["fingerprint"]))]


def ident(high: int, low: int) -> bytes:
    """An id or hash: high u64 LE then low u64 LE (§1)."""
    return u64(high) + u64(low)


ID_A = ident(0x1111111111111111, 0xA0A0A0A0A0A0A0A0)
ID_B = ident(0x2222222222222222, 0xB0B0B0B0B0B0B0B0)
ID_C = ident(0x3333333333333333, 0xC0C0C0C0C0C0C0C0)
HASH_0 = ident(0x0102030405060708, 0x090A0B0C0D0E0F10)
HASH_1 = ident(0xFFEEDDCCBBAA9988, 0x7766554433221100)
KEY_0 = [0.5, -1.0, 2.0, 0.25]
KEY_1 = [-0.125, 3.0, 0.0, -2.5]
# Payloads: K then V, [kvHeads=1][blockSize=2][headDim=2] fp16 each: 8 elements, 16 bytes.
PAYLOAD_0 = b"".join(f16(v) for v in [1.0, -2.0, 0.5, 0.25, 3.0, -0.125, 65504.0, -0.0])
PAYLOAD_1 = b"".join(f16(v) for v in [0.0, 1.5, -1.5, 2.0, -4.0, 8.0, 0.0009765625, 1.0])


def frame(type_name: str, request_id: int, body: Layout, *, type_code: Optional[int] = None,
          length: Optional[int] = None, flags: int = 0) -> Layout:
    body_bytes = sum(len(b) for _, b in body)
    return [("length", u32(12 + body_bytes if length is None else length)),
            ("type", u16(T[type_name] if type_code is None else type_code)),
            ("flags", u16(flags)), ("requestID", u64(request_id))] + body


def hexs(b: bytes) -> str:
    return b.hex().upper()


def vector(name_: str, section: str, type_name: str, request_id: int, layout: Layout,
           fields: Any = None, **extra: Any) -> Dict[str, Any]:
    type_bytes = dict(layout).get("type")
    v: Dict[str, Any] = {"name": name_, "section": section, "type": type_name,
                         "typeCode": struct.unpack("<H", type_bytes)[0] if type_bytes else None,
                         "requestID": request_id}
    if fields is not None:
        v["fields"] = fields
    v.update(extra)
    v["layout"] = [[f, hexs(b)] for f, b in layout]
    v["hex"] = hexs(b"".join(b for _, b in layout))
    return v


def session_info_layout(info: Dict[str, Any]) -> Layout:
    return (name(info["name"], "name") + [("ownerUID", u32(info["ownerUID"]))]
            + descriptor(info["descriptor"])
            + [("flags", u8(info["flags"])), ("checkpointSequence", u64(info["checkpointSequence"])),
               ("storedBytes", u64(info["storedBytes"])),
               ("createdAtMillis", u64(info["createdAtMillis"])),
               ("lastUsedAtMillis", u64(info["lastUsedAtMillis"])),
               ("layerCount", u16(info["layerCount"])),
               ("blockCounts", b"".join(u32(c) for c in info["blockCounts"]))])


INFO_DOC = {"name": "doc", "ownerUID": 1000, "descriptor": DESCRIPTOR, "flags": 1,
            "checkpointSequence": 7, "storedBytes": 123456, "createdAtMillis": 1765000000000,
            "lastUsedAtMillis": 1765000042000, "layerCount": 2, "blockCounts": [3, 2]}
INFO_FORK = {"name": "1000/doc.fork", "ownerUID": 1000, "descriptor": DESCRIPTOR, "flags": 0,
             "checkpointSequence": 0, "storedBytes": 0, "createdAtMillis": 1765000100000,
             "lastUsedAtMillis": 1765000100000, "layerCount": 2, "blockCounts": [0, 0]}


def record(layer: int, position: int, prefix_hash: bytes, key: List[float], payload: bytes,
           i: int) -> Layout:
    return ([(f"blocks[{i}].layer", u16(layer)), (f"blocks[{i}].position", u32(position)),
             (f"blocks[{i}].prefixHash", prefix_hash)]
            + f32s(key, f"blocks[{i}].representativeKey")
            + [(f"blocks[{i}].payload", payload)])


def requests() -> List[Dict[str, Any]]:
    out = []
    hello_fields = {"magic": "4B564400", "version": 1, "maxFrameBytes": 64 << 20}
    out.append(vector("hello-default", "§4, §9", "hello", 1, frame("hello", 1, [
        ("magic", b"KVD\x00"), ("version", u16(1)), ("maxFrameBytes", u32(64 << 20))]),
        hello_fields))
    out.append(vector("createSession", "§6.1, §6.2", "createSession", 2,
                      frame("createSession", 2, name("doc", "name") + descriptor(DESCRIPTOR)),
                      {"name": "doc", "descriptor": DESCRIPTOR}))
    for type_name, rid, session in (("openSession", 3, "doc"), ("closeSession", 4, "doc"),
                                    ("dropSession", 5, "doc"), ("inspectSession", 6, "doc"),
                                    ("openSession", 7, "1000/dòc")):
        out.append(vector(f"{type_name}-{session}", "§6.2, §6.10", type_name, rid,
                          frame(type_name, rid, name(session, "name")), {"name": session}))
    out.append(vector("listSessions-first", "§6.2", "listSessions", 8,
                      frame("listSessions", 8, name("", "after") + [("limit", u32(0))]),
                      {"after": "", "limit": 0}))
    out.append(vector("listSessions-after", "§6.2", "listSessions", 9,
                      frame("listSessions", 9, name("doc", "after") + [("limit", u32(100))]),
                      {"after": "doc", "limit": 100}))
    out.append(vector("forkSession-all-copyCheckpoint", "§6.2", "forkSession", 10,
                      frame("forkSession", 10, name("doc", "source") + name("doc.fork", "target")
                            + [("blockCount", u32(0xFFFFFFFF)), ("options", u8(1))]),
                      {"source": "doc", "target": "doc.fork", "blockCount": 0xFFFFFFFF,
                       "options": 1}))
    out.append(vector("forkSession-prefix", "§6.2", "forkSession", 11,
                      frame("forkSession", 11, name("doc", "source") + name("doc.head", "target")
                            + [("blockCount", u32(2)), ("options", u8(0))]),
                      {"source": "doc", "target": "doc.head", "blockCount": 2, "options": 0}))
    blocks = [{"layer": 0, "position": 0, "prefixHash": hexs(HASH_0), "representativeKey": KEY_0,
               "payload": hexs(PAYLOAD_0)},
              {"layer": 1, "position": 0, "prefixHash": hexs(HASH_1), "representativeKey": KEY_1,
               "payload": hexs(PAYLOAD_1)}]
    out.append(vector("appendBlocks-two-layers", "§1, §6.3", "appendBlocks", 12,
                      frame("appendBlocks", 12, name("doc", "session")
                            + [("keyDim", u32(4)), ("payloadBytes", u32(16)), ("count", u32(2))]
                            + record(0, 0, HASH_0, KEY_0, PAYLOAD_0, 0)
                            + record(1, 0, HASH_1, KEY_1, PAYLOAD_1, 1)),
                      {"session": "doc", "keyDim": 4, "payloadBytes": 16, "count": 2,
                       "blocks": blocks}))
    out.append(vector("retrieve-plain", "§6.3", "retrieve", 13,
                      frame("retrieve", 13, name("doc", "session")
                            + [("layer", u16(1)), ("method", u8(1)), ("mode", u8(1)),
                               ("options", u8(0)), ("chunkSequence", u64(5)), ("dim", u32(4))]
                            + f32s(KEY_0, "probe") + [("heldCount", u32(0))]),
                      {"session": "doc", "layer": 1, "method": 1, "mode": 1, "options": 0,
                       "chunkSequence": 5, "dim": 4, "probe": KEY_0, "heldIDs": []}))
    out.append(vector("retrieve-question-held-payloads", "§6.3", "retrieve", 14,
                      frame("retrieve", 14, name("doc", "session")
                            + [("layer", u16(0)), ("method", u8(5)), ("mode", u8(0)),
                               ("options", u8(3)), ("chunkSequence", u64(0x0102030405060708)),
                               ("dim", u32(4))]
                            + f32s(KEY_0, "probe") + f32s(KEY_1, "question")
                            + [("questionWeight", f32(0.75)), ("heldCount", u32(2)),
                               ("heldIDs[0]", ID_A), ("heldIDs[1]", ID_B)]),
                      {"session": "doc", "layer": 0, "method": 5, "mode": 0, "options": 3,
                       "chunkSequence": 0x0102030405060708, "dim": 4, "probe": KEY_0,
                       "question": KEY_1, "questionWeight": 0.75,
                       "heldIDs": [hexs(ID_A), hexs(ID_B)]}))
    out.append(vector("fetchBlocks", "§6.3", "fetchBlocks", 15,
                      frame("fetchBlocks", 15, name("doc", "session") + [
                          ("count", u32(2)), ("ids[0]", ID_B), ("ids[1]", ID_A)]),
                      {"session": "doc", "ids": [hexs(ID_B), hexs(ID_A)]}))
    out.append(vector("putCheckpoint", "§6.4", "putCheckpoint", 16,
                      frame("putCheckpoint", 16, name("doc", "session") + [
                          ("chunkSequence", u64(9)), ("tokenCount", u64(4096)),
                          ("workerState.len", u32(5)), ("workerState", b"\x00state"[:5])]),
                      {"session": "doc", "chunkSequence": 9, "tokenCount": 4096,
                       "workerState": hexs(b"\x00state"[:5])}))
    out.append(vector("getCheckpoint-restore", "§6.4", "getCheckpoint", 17,
                      frame("getCheckpoint", 17, name("doc", "session") + [("options", u8(1))]),
                      {"session": "doc", "options": 1}))
    out.append(vector("stats", "§6.5", "stats", 18, frame("stats", 18, []), {}))
    out.append(vector("verify", "§6.7", "verify", 19,
                      frame("verify", 19, [("maxFailures", u32(0))]), {"maxFailures": 0}))
    out.append(vector("reload-debug", "§6.8", "reload", 7,
                      frame("reload", 7, [("options", u8(1)), ("level", u8(1))]),
                      {"options": 1, "level": 1}))
    out.append(vector("reload-reread", "§6.8", "reload", 20,
                      frame("reload", 20, [("options", u8(0)), ("level", u8(0))]),
                      {"options": 0, "level": 0}))
    path = "/var/lib/kvd-backup/2026-12-07"
    out.append(vector("backup", "§6.9", "backup", 21,
                      frame("backup", 21, [("pathLength", u16(len(path))),
                                           ("path", path.encode())]), {"path": path}))
    return out


def replies() -> List[Dict[str, Any]]:
    out = []
    out.append(vector("helloOK", "§4", "helloOK", 1, frame("helloOK", 1, [
        ("version", u16(1)), ("maxFrameBytes", u32(64 << 20)),
        ("maxBlocksPerRequest", u32(4096)), ("peerUID", u32(1000)), ("peerGID", u32(100))]),
        {"version": 1, "maxFrameBytes": 64 << 20, "maxBlocksPerRequest": 4096,
         "peerUID": 1000, "peerGID": 100}))
    out.append(vector("ok", "§6.6", "ok", 4, frame("ok", 4, []), {}))
    out.append(vector("ok-flags-ignored", "§2", "ok", 5, frame("ok", 5, [], flags=0xFFFF), {}))
    out.append(vector("sessionInfo-with-checkpoint", "§6.2", "sessionInfo", 2,
                      frame("sessionInfo", 2, session_info_layout(INFO_DOC)), INFO_DOC))
    out.append(vector("sessionList-empty", "§6.2", "sessionList", 8,
                      frame("sessionList", 8, [("count", u32(0)), ("hasMore", u8(0))]),
                      {"sessions": [], "hasMore": False}))
    out.append(vector("sessionList-two-more", "§6.2", "sessionList", 9,
                      frame("sessionList", 9, [("count", u32(2))]
                            + session_info_layout(INFO_FORK) + session_info_layout(INFO_DOC)
                            + [("hasMore", u8(1))]),
                      {"sessions": [INFO_FORK, INFO_DOC], "hasMore": True}))
    out.append(vector("appended", "§6.3", "appended", 12,
                      frame("appended", 12, [("count", u32(2)), ("ids[0]", ID_A),
                                             ("ids[1]", ID_B)]),
                      {"ids": [hexs(ID_A), hexs(ID_B)]}))
    out.append(vector("retrieved-no-payloads", "§6.3", "retrieved", 13,
                      frame("retrieved", 13, [
                          ("k", u32(2)), ("entropy", f32(0.6875)), ("density", f32(0.5)),
                          ("totalBlocks", u32(3)), ("chosenCount", u32(2)),
                          ("chosen[0].id", ID_C), ("chosen[0].position", u32(2)),
                          ("chosen[1].id", ID_A), ("chosen[1].position", u32(0)),
                          ("payloadBytes", u32(0)), ("payloadCount", u32(0))]),
                      {"k": 2, "entropy": 0.6875, "density": 0.5, "totalBlocks": 3,
                       "chosen": [{"id": hexs(ID_C), "position": 2},
                                  {"id": hexs(ID_A), "position": 0}],
                       "payloadBytes": 0, "payloads": []}))
    out.append(vector("retrieved-payloads-skip-held", "§6.3", "retrieved", 14,
                      frame("retrieved", 14, [
                          ("k", u32(4)), ("entropy", f32(0.0)), ("density", f32(0.0)),
                          ("totalBlocks", u32(3)), ("chosenCount", u32(3)),
                          ("chosen[0].id", ID_A), ("chosen[0].position", u32(0)),
                          ("chosen[1].id", ID_B), ("chosen[1].position", u32(1)),
                          ("chosen[2].id", ID_C), ("chosen[2].position", u32(2)),
                          ("payloadBytes", u32(16)), ("payloadCount", u32(2)),
                          ("payloads[0].index", u32(0)), ("payloads[0].payload", PAYLOAD_0),
                          ("payloads[1].index", u32(2)), ("payloads[1].payload", PAYLOAD_1)]),
                      {"k": 4, "entropy": 0.0, "density": 0.0, "totalBlocks": 3,
                       "chosen": [{"id": hexs(ID_A), "position": 0},
                                  {"id": hexs(ID_B), "position": 1},
                                  {"id": hexs(ID_C), "position": 2}],
                       "payloadBytes": 16,
                       "payloads": [{"index": 0, "payload": hexs(PAYLOAD_0)},
                                    {"index": 2, "payload": hexs(PAYLOAD_1)}]}))
    out.append(vector("blocks", "§6.3", "blocks", 15,
                      frame("blocks", 15, [("keyDim", u32(4)), ("payloadBytes", u32(16)),
                                           ("count", u32(2)), ("blocks[0].id", ID_B)]
                            + record(1, 0, HASH_1, KEY_1, PAYLOAD_1, 0)
                            + [("blocks[1].id", ID_A)]
                            + record(0, 0, bytes(16), KEY_0, PAYLOAD_0, 1)),
                      {"keyDim": 4, "payloadBytes": 16,
                       "blocks": [{"id": hexs(ID_B), "layer": 1, "position": 0,
                                   "prefixHash": hexs(HASH_1), "representativeKey": KEY_1,
                                   "payload": hexs(PAYLOAD_1)},
                                  {"id": hexs(ID_A), "layer": 0, "position": 0,
                                   "prefixHash": hexs(bytes(16)), "representativeKey": KEY_0,
                                   "payload": hexs(PAYLOAD_0)}]}))
    out.append(vector("checkpoint", "§6.4", "checkpoint", 17,
                      frame("checkpoint", 17, [("chunkSequence", u64(9)),
                                               ("tokenCount", u64(4096)),
                                               ("workerState.len", u32(3)),
                                               ("workerState", b"abc"),
                                               ("retrievalState.len", u32(0)),
                                               ("retrievalState", b"")]),
                      {"chunkSequence": 9, "tokenCount": 4096, "workerState": hexs(b"abc"),
                       "retrievalState": ""}))
    inf = float("inf")
    out.append(vector("stats", "§6.5", "statsReply", 18,
                      frame("statsReply", 18, [
                          ("uptimeSeconds", u64(3600)), ("connections", u32(2)),
                          ("sessions", u64(5)), ("blocks", u64(1000)),
                          ("storedBytes", u64(1 << 33)), ("capacityBytes", u64(0)),
                          ("requests", u64(123456789)), ("errors", u64(3)),
                          ("counterCount", u32(2))]
                          + name("blocks.appended", "counters[0].name")
                          + [("counters[0].value", u64(1000))]
                          + name("x", "counters[1].name")
                          + [("counters[1].value", u64(0xFFFFFFFFFFFFFFFF)),
                             ("histogramCount", u32(1))]
                          + name("latency.retrieve", "histograms[0].name")
                          + [("histograms[0].sumSeconds", f64(0.5)),
                             ("histograms[0].bucketCount", u32(2)),
                             ("histograms[0].buckets[0].upperBoundSeconds", f64(0.001)),
                             ("histograms[0].buckets[0].count", u64(7)),
                             ("histograms[0].buckets[1].upperBoundSeconds", f64(inf)),
                             ("histograms[0].buckets[1].count", u64(1))]),
                      {"uptimeSeconds": 3600, "connections": 2, "sessions": 5, "blocks": 1000,
                       "storedBytes": 1 << 33, "capacityBytes": 0, "requests": 123456789,
                       "errors": 3,
                       "counters": [{"name": "blocks.appended", "value": 1000},
                                    {"name": "x", "value": 0xFFFFFFFFFFFFFFFF}],
                       "histograms": [{"name": "latency.retrieve", "sumSeconds": 0.5,
                                       "buckets": [{"upperBoundSeconds": 0.001, "count": 7},
                                                   {"upperBoundSeconds": "+inf",
                                                    "count": 1}]}]}))
    out.append(vector("verifyReport-ok", "§6.7", "verifyReport", 19,
                      frame("verifyReport", 19, [("ok", u8(1)), ("blocksChecked", u64(10)),
                                                 ("referencesChecked", u64(12)),
                                                 ("failureTotal", u64(0)),
                                                 ("failureCount", u32(0))]),
                      {"ok": True, "blocksChecked": 10, "referencesChecked": 12,
                       "failureTotal": 0, "failures": []}))
    out.append(vector("verifyReport-failures", "§6.7", "verifyReport", 20,
                      frame("verifyReport", 20, [("ok", u8(0)), ("blocksChecked", u64(10)),
                                                 ("referencesChecked", u64(12)),
                                                 ("failureTotal", u64(3)),
                                                 ("failureCount", u32(2)),
                                                 ("failures[0].hasBlock", u8(1)),
                                                 ("failures[0].block", ID_A)]
                            + name("", "failures[0].session")
                            + [("failures[0].reason", u16(1))]
                            + name("crc mismatch", "failures[0].message")
                            + [("failures[1].hasBlock", u8(0)),
                               ("failures[1].block", bytes(16))]
                            + name("doc", "failures[1].session")
                            + [("failures[1].reason", u16(99))]
                            + name("", "failures[1].message")),
                      {"ok": False, "blocksChecked": 10, "referencesChecked": 12,
                       "failureTotal": 3,
                       "failures": [{"block": hexs(ID_A), "session": "", "reason": 1,
                                     "message": "crc mismatch"},
                                    {"block": None, "session": "doc", "reason": 0,
                                     "wireReason": 99, "message": ""}]}))
    out.append(vector("reloaded", "§6.8", "reloaded", 7,
                      frame("reloaded", 7, [("previous", u8(2)), ("current", u8(1))]),
                      {"previous": 2, "current": 1}))
    out.append(vector("backupDone", "§6.9", "backupDone", 21,
                      frame("backupDone", 21, [("bytes", u64(1 << 20)), ("elapsedMillis", u64(15)),
                                               ("sessions", u64(2)), ("blocks", u64(40))]),
                      {"bytes": 1 << 20, "elapsedMillis": 15, "sessions": 2, "blocks": 40}))
    out.append(vector("sessionDetail", "§6.10", "sessionDetail", 6,
                      frame("sessionDetail", 6, session_info_layout(INFO_DOC)
                            + [("openConnections", u32(1)), ("sharedBlocks", u64(2)),
                               ("rawBytes", u64(80)),
                               ("layerStoredBytes", u64(100000) + u64(23456))]),
                      {"info": INFO_DOC, "openConnections": 1, "sharedBlocks": 2,
                       "rawBytes": 80, "layerStoredBytes": [100000, 23456]}))
    out.append(vector("error-sessionNotFound", "§6.6, §9", "error", 2,
                      frame("error", 2, [("code", u16(10)), ("message", b"no")]),
                      {"code": 10, "message": "no"}))
    out.append(vector("error-connection-level", "§6.6, §8", "error", 0,
                      frame("error", 0, [("code", u16(40)), ("message", b"")]),
                      {"code": 40, "message": ""}))
    out.append(vector("error-unknown-code", "§6.6", "error", 3,
                      frame("error", 3, [("code", u16(99)), ("message", "é".encode())]),
                      {"code": 99, "message": "é"}, expect={"treatAsCode": 50}))
    return out


def malformed_replies() -> List[Dict[str, Any]]:
    """Replies a client must reject (its call fails; the connection is not trusted)."""
    out = []

    def bad(name_: str, section: str, type_name: str, layout: Layout, reason: str,
            request_id: int = 1, type_code: Optional[int] = None) -> None:
        out.append(vector(name_, section, type_name, request_id, layout,
                          expect={"reject": True, "reason": reason}))

    bad("length-below-12", "§2, §8", "ok",
        frame("ok", 1, [], length=11), "frame length < 12")
    bad("length-above-client-maximum", "§3", "ok",
        frame("ok", 1, [], length=(64 << 20) + 1)[:4] + [("(no body sent)", b"")],
        "length above the 64 MiB the client announced (checked on the 4 length bytes)")
    bad("helloOK-short", "§4", "helloOK",
        frame("helloOK", 1, [("version", u16(1)), ("maxFrameBytes", u32(64 << 20))]),
        "body shorter than 18 bytes")
    bad("helloOK-maxFrameBytes-too-small", "§4", "helloOK",
        frame("helloOK", 1, [("version", u16(1)), ("maxFrameBytes", u32(65535)),
                             ("maxBlocksPerRequest", u32(4096)), ("peerUID", u32(0)),
                             ("peerGID", u32(0))]), "maxFrameBytes outside 64 KiB…1 GiB")
    bad("ok-trailing-byte", "§6", "ok", frame("ok", 1, [("extra", b"\x00")]), "trailing bytes")
    info = dict(INFO_DOC, layerCount=3, blockCounts=[3, 2, 0])
    bad("sessionInfo-layerCount-not-layers", "§6.2", "sessionInfo",
        frame("sessionInfo", 1, session_info_layout(info)), "layerCount ≠ descriptor.layers")
    info = dict(INFO_DOC, flags=3)
    bad("sessionInfo-undefined-flag", "§1, §6.2", "sessionInfo",
        frame("sessionInfo", 1, session_info_layout(info)), "flags bit 1 set (undefined)")
    info = dict(INFO_DOC, name="")
    bad("sessionInfo-empty-name", "§1, §6.2", "sessionInfo",
        frame("sessionInfo", 1, session_info_layout(info)), "name of 0 bytes")
    bad("sessionList-bad-bool", "§1, §6.2", "sessionList",
        frame("sessionList", 1, [("count", u32(0)), ("hasMore", u8(2))]), "bool 2")
    bad("sessionList-count-beyond-body", "§3, §6.2", "sessionList",
        frame("sessionList", 1, [("count", u32(3)), ("hasMore", u8(0))]),
        "count inconsistent with the bytes left")
    bad("appended-count-beyond-body", "§3, §6.3", "appended",
        frame("appended", 1, [("count", u32(2)), ("ids[0]", ID_A)]), "truncated ids")
    bad("appended-count-above-limit", "§3, §6.3", "appended",
        frame("appended", 1, [("count", u32(4097))]),
        "count above maxBlocksPerRequest (4096) and the bytes left")
    head = [("k", u32(2)), ("entropy", f32(0)), ("density", f32(0)), ("totalBlocks", u32(2)),
            ("chosenCount", u32(2)), ("chosen[0].id", ID_A), ("chosen[0].position", u32(0)),
            ("chosen[1].id", ID_B), ("chosen[1].position", u32(1))]
    bad("retrieved-indices-not-increasing", "§6.3", "retrieved",
        frame("retrieved", 1, head + [("payloadBytes", u32(16)), ("payloadCount", u32(2)),
                                      ("payloads[0].index", u32(1)),
                                      ("payloads[0].payload", PAYLOAD_0),
                                      ("payloads[1].index", u32(0)),
                                      ("payloads[1].payload", PAYLOAD_1)]),
        "payload indices not strictly increasing")
    bad("retrieved-index-out-of-range", "§6.3", "retrieved",
        frame("retrieved", 1, head + [("payloadBytes", u32(16)), ("payloadCount", u32(1)),
                                      ("payloads[0].index", u32(2)),
                                      ("payloads[0].payload", PAYLOAD_0)]),
        "payload index ≥ chosenCount")
    bad("retrieved-payloadCount-above-chosen", "§6.3", "retrieved",
        frame("retrieved", 1, head + [("payloadBytes", u32(0)), ("payloadCount", u32(3))]),
        "payloadCount > chosenCount")
    bad("retrieved-payloads-short", "§6.3", "retrieved",
        frame("retrieved", 1, head + [("payloadBytes", u32(16)), ("payloadCount", u32(1)),
                                      ("payloads[0].index", u32(0)),
                                      ("payloads[0].payload", PAYLOAD_0[:8])]),
        "payloads do not fill the rest of the body")
    bad("blocks-trailing", "§6.3", "blocks",
        frame("blocks", 1, [("keyDim", u32(4)), ("payloadBytes", u32(16)), ("count", u32(1)),
                            ("blocks[0].id", ID_A)]
              + record(0, 0, HASH_0, KEY_0, PAYLOAD_0, 0) + [("extra", b"\x00")]),
        "trailing byte after the records")
    bad("checkpoint-state-beyond-body", "§6.4", "checkpoint",
        frame("checkpoint", 1, [("chunkSequence", u64(1)), ("tokenCount", u64(1)),
                                ("workerState.len", u32(100)), ("workerState", b"abc")]),
        "bytes32 length beyond the body")
    bad("stats-counterCount-above-limit", "§3, §6.5", "statsReply",
        frame("statsReply", 1, [("fixed", bytes(60)), ("counterCount", u32(1025))]),
        "counterCount 1025 > 1024")
    bad("stats-bucketCount-above-limit", "§3, §6.5", "statsReply",
        frame("statsReply", 1, [("fixed", bytes(60)), ("counterCount", u32(0)),
                                ("histogramCount", u32(1))] + name("h", "histograms[0].name")
              + [("histograms[0].sumSeconds", f64(0)), ("histograms[0].bucketCount", u32(257)),
                 ("buckets", bytes(257 * 16))]),
        "bucketCount 257 > 256")
    bad("verifyReport-failureCount-above-total", "§6.7", "verifyReport",
        frame("verifyReport", 1, [("ok", u8(0)), ("blocksChecked", u64(1)),
                                  ("referencesChecked", u64(1)), ("failureTotal", u64(0)),
                                  ("failureCount", u32(1)), ("failures[0].hasBlock", u8(0)),
                                  ("failures[0].block", bytes(16))]
              + name("", "failures[0].session") + [("failures[0].reason", u16(0))]
              + name("", "failures[0].message")),
        "failureCount > failureTotal")
    bad("verifyReport-bad-bool", "§1, §6.7", "verifyReport",
        frame("verifyReport", 1, [("ok", u8(2)), ("blocksChecked", u64(1)),
                                  ("referencesChecked", u64(1)), ("failureTotal", u64(0)),
                                  ("failureCount", u32(0))]), "ok is 2")
    bad("reloaded-level-out-of-range", "§6.8", "reloaded",
        frame("reloaded", 1, [("previous", u8(2)), ("current", u8(7))]), "level 7")
    bad("error-message-too-long", "§3, §6.6", "error",
        frame("error", 1, [("code", u16(50)), ("message", b"x" * 4097)]),
        "message of 4097 bytes > 4096")
    bad("error-short", "§6.6", "error", frame("error", 1, [("code", b"\x0A")]),
        "body shorter than the code")
    bad("request-type-from-server", "§2, §6", "stats",
        frame("stats", 1, []), "a request type (bit 15 clear) sent as a reply")
    bad("unknown-reply-type", "§6", "0x8099",
        frame("ok", 1, [], type_code=0x8099), "unknown reply type", type_code=0x8099)
    return out


def server_requests() -> List[Dict[str, Any]]:
    """Requests a server must answer as ``expect`` says: nearly all with an error
    (docs/PROTOCOL.md §4, §7, §8); ``expect.reply`` names a success reply instead.

    ``context`` is what the connection has done before the frame is sent:
    "connected" — nothing; "handshake" — hello answered with helloOK (request id 1, 64 MiB);
    "session" — the same, then session "vec" created with DESCRIPTOR (request id 2, empty).
    """
    out = []

    def bad(name_: str, section: str, type_name: str, request_id: int, layout: Layout,
            error: str, *, context: str = "handshake", closes: bool = False,
            reply_id: Optional[int] = None, type_code: Optional[int] = None) -> None:
        out.append(vector(name_, section, type_name, request_id, layout, context=context,
                          expect={"error": error, "code": E[error],
                                  "requestID": request_id if reply_id is None else reply_id,
                                  "closes": closes}))

    hello_ok = [("magic", b"KVD\x00"), ("version", u16(1)), ("maxFrameBytes", u32(64 << 20))]
    # Framing (§8): answered with id 0, connection closed.
    bad("length-below-12", "§2, §8", "stats", 5, frame("stats", 5, [], length=11),
        "malformedFrame", closes=True, reply_id=0)
    bad("length-above-server-maximum", "§3, §8", "stats", 5,
        frame("stats", 5, [], length=0xFFFFFFFF), "frameTooLarge", closes=True, reply_id=0)
    bad("length-above-64KiB-before-hello", "§3, §8", "hello", 1,
        frame("hello", 1, hello_ok, length=65537), "frameTooLarge", context="connected",
        closes=True, reply_id=0)
    # Handshake (§4).
    bad("hello-bad-magic", "§4", "hello", 1,
        frame("hello", 1, [("magic", b"KVE\x00"), ("version", u16(1)),
                           ("maxFrameBytes", u32(64 << 20))]),
        "badMagic", context="connected", closes=True)
    bad("hello-body-under-4", "§4", "hello", 1, frame("hello", 1, [("magic", b"KVD")]),
        "badMagic", context="connected", closes=True)
    bad("hello-version-2", "§4", "hello", 1,
        frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(2)),
                           ("maxFrameBytes", u32(64 << 20))]),
        "unsupportedVersion", context="connected", closes=True)
    bad("request-before-hello", "§4", "stats", 1, frame("stats", 1, []), "handshakeRequired",
        context="connected", closes=True)
    bad("hello-body-9-bytes", "§4", "hello", 1,
        frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(1)),
                           ("maxFrameBytes(3 of 4)", u32(64 << 20)[:3])]),
        "malformedFrame", context="connected")
    bad("hello-maxFrameBytes-too-small", "§4", "hello", 1,
        frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(1)),
                           ("maxFrameBytes", u32(65535))]), "badArgument", context="connected")
    bad("hello-maxFrameBytes-too-large", "§4", "hello", 1,
        frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(1)),
                           ("maxFrameBytes", u32((1 << 30) + 1))]), "badArgument",
        context="connected")
    bad("second-hello", "§4", "hello", 5, frame("hello", 5, hello_ok), "unexpectedMessage")
    # Types (§6, §7).
    bad("unknown-type", "§6.8, §7", "0x0053", 5, frame("stats", 5, [], type_code=0x0053),
        "unknownMessageType")
    bad("reply-type-sent-to-server", "§7", "ok", 5, frame("ok", 5, []), "unexpectedMessage")
    bad("error-type-sent-to-server", "§7", "error", 5,
        frame("error", 5, [("code", u16(1))]), "unexpectedMessage")
    bad("unknown-type-with-bit-15", "§6, §7", "0x8099", 5,
        frame("ok", 5, [], type_code=0x8099), "unknownMessageType")
    # Before the handshake (§4): a known request type other than hello, whatever its body,
    # closes the connection; a frame of unknown or reply type is answered as after the
    # handshake and the connection still awaits its hello.
    bad("unknown-type-before-hello", "§4, §7", "0x0053", 3,
        frame("stats", 3, [], type_code=0x0053), "unknownMessageType", context="connected")
    bad("reply-type-before-hello", "§4, §7", "ok", 3, frame("ok", 3, []), "unexpectedMessage",
        context="connected")
    bad("malformed-request-before-hello", "§4", "openSession", 3,
        frame("openSession", 3, [("name.len", u8(5))]), "handshakeRequired",
        context="connected", closes=True)
    # Bodies (§6, §8): connection stays open.
    bad("stats-trailing-byte", "§6", "stats", 5, frame("stats", 5, [("extra", b"\x00")]),
        "malformedFrame")
    bad("openSession-name-truncated", "§6.2", "openSession", 5,
        frame("openSession", 5, [("name.len", u8(5)), ("name", b"abc")]), "malformedFrame")
    bad("openSession-empty-name", "§1, §6.2", "openSession", 5,
        frame("openSession", 5, name("", "name")), "badArgument")
    bad("openSession-name-with-NUL", "§1", "openSession", 5,
        frame("openSession", 5, raw_name(b"a\x00b", "name")), "badArgument")
    bad("openSession-name-invalid-UTF-8", "§1", "openSession", 5,
        frame("openSession", 5, raw_name(b"a\xffb", "name")), "badArgument")
    bad("openSession-missing", "§6.2, §7", "openSession", 5,
        frame("openSession", 5, name("missing", "name")), "sessionNotFound")
    bad("openSession-other-uid", "§6.2", "openSession", 5,
        frame("openSession", 5, name("4242/vec", "name")), "sessionNotFound")
    bad("createSession-name-with-slash", "§6.2", "createSession", 5,
        frame("createSession", 5, name("a/b", "name") + descriptor(DESCRIPTOR)), "badArgument")
    bad("createSession-name-245-bytes", "§6.2", "createSession", 5,
        frame("createSession", 5, name("n" * 245, "name") + descriptor(DESCRIPTOR)),
        "badArgument")
    for field, value, why in (("elementType", 3, "elementType 3"), ("layers", 0, "layers 0"),
                              ("queryHeads", 3, "queryHeads not a multiple of kvHeads 2"),
                              ("headDim", 4097, "headDim 4097"),
                              ("blockSize", 0, "blockSize 0")):
        d = dict(DESCRIPTOR, kvHeads=2, queryHeads=2) if field == "queryHeads" else dict(DESCRIPTOR)
        d[field] = value
        bad(f"createSession-descriptor-{field}", "§3, §6.1", "createSession", 5,
            frame("createSession", 5, name("new", "name") + descriptor(d)), "badArgument")
    bad("createSession-truncated-descriptor", "§6.1", "createSession", 5,
        frame("createSession", 5, name("new", "name") + descriptor(DESCRIPTOR)[:-1]),
        "malformedFrame")
    bad("createSession-exists", "§6.2", "createSession", 5,
        frame("createSession", 5, name("vec", "name") + descriptor(DESCRIPTOR)),
        "sessionExists", context="session")
    bad("listSessions-limit-4097", "§3, §6.2", "listSessions", 5,
        frame("listSessions", 5, name("", "after") + [("limit", u32(4097))]), "limitExceeded")
    bad("forkSession-undefined-option", "§1, §6.2", "forkSession", 5,
        frame("forkSession", 5, name("vec", "source") + name("vec2", "target")
              + [("blockCount", u32(0xFFFFFFFF)), ("options", u8(2))]), "badArgument",
        context="session")
    bad("forkSession-copyCheckpoint-partial", "§6.2", "forkSession", 5,
        frame("forkSession", 5, name("vec", "source") + name("vec2", "target")
              + [("blockCount", u32(1)), ("options", u8(1))]), "badArgument",
        context="session")
    bad("forkSession-copyCheckpoint-none", "§6.2", "forkSession", 5,
        frame("forkSession", 5, name("vec", "source") + name("vec2", "target")
              + [("blockCount", u32(0xFFFFFFFF)), ("options", u8(1))]), "checkpointNotFound",
        context="session")
    bad("forkSession-target-exists", "§6.2", "forkSession", 5,
        frame("forkSession", 5, name("vec", "source") + name("vec", "target")
              + [("blockCount", u32(0xFFFFFFFF)), ("options", u8(0))]), "sessionExists",
        context="session")
    append_head = name("vec", "session") + [("keyDim", u32(4)), ("payloadBytes", u32(16))]
    bad("appendBlocks-layer-out-of-range", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, append_head + [("count", u32(1))]
              + record(2, 0, HASH_0, KEY_0, PAYLOAD_0, 0)), "badPosition", context="session")
    bad("appendBlocks-position-gap", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, append_head + [("count", u32(1))]
              + record(0, 1, HASH_0, KEY_0, PAYLOAD_0, 0)), "badPosition", context="session")
    bad("appendBlocks-keyDim-wrong", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, name("vec", "session")
              + [("keyDim", u32(3)), ("payloadBytes", u32(16)), ("count", u32(1))]
              + record(0, 0, HASH_0, KEY_0[:3], PAYLOAD_0, 0)), "wrongDimensions",
        context="session")
    bad("appendBlocks-payloadBytes-wrong", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, name("vec", "session")
              + [("keyDim", u32(4)), ("payloadBytes", u32(8)), ("count", u32(1))]
              + record(0, 0, HASH_0, KEY_0, PAYLOAD_0[:8], 0)), "wrongDimensions",
        context="session")
    bad("appendBlocks-nan-key", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, append_head + [("count", u32(1))]
              + record(0, 0, HASH_0, [0.5, float("nan"), 2.0, 0.25], PAYLOAD_0, 0)),
        "badArgument", context="session")
    bad("appendBlocks-count-beyond-body", "§3, §6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, append_head + [("count", u32(2))]
              + record(0, 0, HASH_0, KEY_0, PAYLOAD_0, 0)), "malformedFrame",
        context="session")
    bad("appendBlocks-unknown-session", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, name("missing", "session")
              + [("keyDim", u32(4)), ("payloadBytes", u32(16)), ("count", u32(1))]
              + record(0, 0, HASH_0, KEY_0, PAYLOAD_0, 0)), "sessionNotFound",
        context="session")

    def retrieve(method: int = 1, mode: int = 0, options: int = 0, layer: int = 0,
                 probe: Optional[List[float]] = None, dim: Optional[int] = None,
                 extra: Optional[Layout] = None) -> Layout:
        probe = KEY_0 if probe is None else probe
        return frame("retrieve", 5, name("vec", "session")
                     + [("layer", u16(layer)), ("method", u8(method)), ("mode", u8(mode)),
                        ("options", u8(options)), ("chunkSequence", u64(0)),
                        ("dim", u32(len(probe) if dim is None else dim))]
                     + f32s(probe, "probe")
                     + (extra if extra is not None else [("heldCount", u32(0))]))

    bad("retrieve-method-6", "§6.3", "retrieve", 5, retrieve(method=6), "badArgument",
        context="session")
    bad("retrieve-mode-2", "§6.3", "retrieve", 5, retrieve(mode=2), "badArgument",
        context="session")
    bad("retrieve-undefined-option", "§1, §6.3", "retrieve", 5, retrieve(options=4),
        "badArgument", context="session")
    bad("retrieve-layer-out-of-range", "§6.3", "retrieve", 5, retrieve(layer=2),
        "badPosition", context="session")
    bad("retrieve-dim-wrong", "§6.3", "retrieve", 5, retrieve(probe=KEY_0[:3]),
        "wrongDimensions", context="session")
    bad("retrieve-infinite-probe", "§6.3", "retrieve", 5,
        retrieve(probe=[0.5, float("inf"), 2.0, 0.25]), "badArgument", context="session")
    bad("retrieve-negative-question-weight", "§6.3", "retrieve", 5,
        retrieve(options=1, extra=f32s(KEY_1, "question")
                 + [("questionWeight", f32(-1.0)), ("heldCount", u32(0))]),
        "badArgument", context="session")
    bad("retrieve-question-missing", "§6.3", "retrieve", 5, retrieve(options=1),
        "malformedFrame", context="session")
    bad("retrieve-heldCount-beyond-body", "§3, §6.3", "retrieve", 5,
        retrieve(extra=[("heldCount", u32(2)), ("heldIDs[0]", ID_A)]), "malformedFrame",
        context="session")
    bad("fetchBlocks-unknown-id", "§6.3", "fetchBlocks", 5,
        frame("fetchBlocks", 5, name("vec", "session") + [("count", u32(1)), ("ids[0]", ID_A)]),
        "blockNotFound", context="session")
    bad("getCheckpoint-none", "§6.4", "getCheckpoint", 5,
        frame("getCheckpoint", 5, name("vec", "session") + [("options", u8(0))]),
        "checkpointNotFound", context="session")
    bad("getCheckpoint-undefined-option", "§1, §6.4", "getCheckpoint", 5,
        frame("getCheckpoint", 5, name("vec", "session") + [("options", u8(2))]),
        "badArgument", context="session")
    bad("putCheckpoint-state-beyond-body", "§6.4", "putCheckpoint", 5,
        frame("putCheckpoint", 5, name("vec", "session")
              + [("chunkSequence", u64(1)), ("tokenCount", u64(2)),
                 ("workerState.len", u32(10)), ("workerState", b"abc")]),
        "malformedFrame", context="session")
    bad("verify-maxFailures-1025", "§3, §6.7", "verify", 5,
        frame("verify", 5, [("maxFailures", u32(1025))]), "limitExceeded")
    bad("reload-undefined-option", "§6.8", "reload", 5,
        frame("reload", 5, [("options", u8(2)), ("level", u8(0))]), "badArgument")
    bad("reload-level-7", "§6.8", "reload", 5,
        frame("reload", 5, [("options", u8(1)), ("level", u8(7))]), "badArgument")
    bad("backup-relative-path", "§6.9", "backup", 5,
        frame("backup", 5, [("pathLength", u16(3)), ("path", b"tmp")]), "badArgument")
    bad("backup-empty-path", "§6.9", "backup", 5,
        frame("backup", 5, [("pathLength", u16(0)), ("path", b"")]), "badArgument")
    bad("inspectSession-missing", "§6.10", "inspectSession", 5,
        frame("inspectSession", 5, name("missing", "name")), "sessionNotFound")
    bad("listSessions-after-invalid-UTF-8", "§1, §6.2", "listSessions", 5,
        frame("listSessions", 5, raw_name(b"\xff\xfe", "after") + [("limit", u32(0))]),
        "badArgument")
    # A count above its limit is limitExceeded even when the bytes it announces are absent:
    # limits are checked first (§3).
    bad("retrieve-dim-above-limit-without-floats", "§3, §6.3", "retrieve", 5,
        retrieve(dim=65537), "limitExceeded", context="session")
    bad("retrieve-heldCount-above-limit-without-ids", "§3, §6.3", "retrieve", 5,
        retrieve(extra=[("heldCount", u32(1048577))]), "limitExceeded", context="session")
    bad("fetchBlocks-count-above-limit-without-ids", "§3, §6.3", "fetchBlocks", 5,
        frame("fetchBlocks", 5, name("vec", "session") + [("count", u32(4097))]),
        "limitExceeded", context="session")
    bad("appendBlocks-count-above-limit-without-records", "§3, §6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, append_head + [("count", u32(4097))]), "limitExceeded",
        context="session")
    bad("appendBlocks-keyDim-above-limit", "§3, §6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, name("vec", "session")
              + [("keyDim", u32(65537)), ("payloadBytes", u32(16)), ("count", u32(1))]),
        "limitExceeded", context="session")
    bad("appendBlocks-payloadBytes-not-multiple-of-4", "§6.3", "appendBlocks", 5,
        frame("appendBlocks", 5, name("vec", "session")
              + [("keyDim", u32(4)), ("payloadBytes", u32(14)), ("count", u32(1))]
              + record(0, 0, HASH_0, KEY_0, PAYLOAD_0[:14], 0)), "badArgument",
        context="session")
    bad("fetchBlocks-same-id-twice", "§6.3", "fetchBlocks", 5,
        frame("fetchBlocks", 5, name("vec", "session")
              + [("count", u32(2)), ("ids[0]", ID_A), ("ids[1]", ID_A)]),
        "badArgument", context="session")
    # Not errors: a hello's bytes after the first 10 are ignored (§4); so are a request's
    # header flags (§2).
    for limit in (64 * 1024, 1 << 30):
        out.append(vector(f"hello-maxFrameBytes-{limit}", "§4", "hello", 1,
                          frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(1)),
                                             ("maxFrameBytes", u32(limit))]),
                          context="connected",
                          expect={"reply": "helloOK", "replyTypeCode": T["helloOK"],
                                  "requestID": 1, "closes": False}))
    out.append(vector("request-flags-ignored", "§2", "stats", 5,
                      frame("stats", 5, [], flags=0xFFFF), context="handshake",
                      expect={"reply": "statsReply", "replyTypeCode": T["statsReply"],
                              "requestID": 5, "closes": False}))
    out.append(vector("hello-trailing-bytes-ignored", "§4", "hello", 1,
                      frame("hello", 1, [("magic", b"KVD\x00"), ("version", u16(1)),
                                         ("maxFrameBytes", u32(64 << 20)),
                                         ("(ignored)", b"\x01\x02")]),
                      context="connected",
                      expect={"reply": "helloOK", "replyTypeCode": T["helloOK"],
                              "requestID": 1, "closes": False}))
    return out


FILES = {
    "requests.json": ("Valid requests: fields → exact frame bytes (a client's encoder must "
                      "produce hex from fields).", requests),
    "replies.json": ("Valid replies: frame bytes → decoded fields (a client's decoder must "
                     "accept hex and yield fields).", replies),
    "malformed-replies.json": ("Replies a client must reject.", malformed_replies),
    "server-requests.json": ("Requests a server must answer as expect says (an error, or a "
                             "named reply); context says what the connection did first.",
                             server_requests),
}


def render() -> Dict[str, str]:
    out = {}
    for file_name, (description, make) in FILES.items():
        document = {"protocol": 1, "source": "docs/PROTOCOL.md", "generator": "generate.py",
                    "descriptor": DESCRIPTOR, "description": description, "vectors": make()}
        text = json.dumps(document, indent=1, ensure_ascii=False)
        # One line per layout entry: ["field", "HEX"].
        text = re.sub(r'\[\n\s*("[^"\n]*"),\n\s*("[0-9A-F]*")\n\s*\]', r'[\1, \2]', text)
        out[file_name] = text + "\n"
    return out


def main(argv: List[str]) -> int:
    rendered = render()
    if "--check" in argv:
        stale = [n for n, text in rendered.items()
                 if not (HERE / n).exists() or (HERE / n).read_text() != text]
        if stale:
            print("stale vectors:", ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    for file_name, text in rendered.items():
        (HERE / file_name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
