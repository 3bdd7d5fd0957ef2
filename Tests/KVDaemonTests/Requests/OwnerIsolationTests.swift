import CoreTypes
import Foundation
import KVStore
import Logging
import NIOCore
import Protocol
import Testing
@testable import KVDaemon

/// One user must not read, alter, block or observe another's data. Each test drives the real
/// dispatcher over a real store as several peers whose kernel-reported uids differ (what
/// SO_PEERCRED gives the listener; the end-to-end `UIDIsolationTests` run the same rules with
/// real processes of other uids).
@Suite struct OwnerIsolationTests {
    /// A dispatcher over a fresh store and a connection per uid.
    final class Peers: @unchecked Sendable {
        let root: String
        let store: KVStore
        let dispatcher: RequestDispatcher
        private var connections: [UInt32: ConnectionState] = [:]
        private var nextID: UInt64 = 1

        init(configure: (inout DaemonConfiguration) -> Void = { _ in }) throws {
            root = "/tmp/kvd-owners-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var configuration = DaemonConfiguration(socketPath: root + "/kvd.sock", dataDirectory: root + "/data")
            configuration.store.durability = .none
            configure(&configuration)
            store = try KVStore(configuration: configuration.store)
            dispatcher = RequestDispatcher(store: store, configuration: configuration)
        }

        /// The reply `uid` gets for `message` (an error reply as `.error`).
        func call(_ message: Message, as uid: UInt32, maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes) async throws -> Message {
            let connection = try await connection(uid, maxFrameBytes: maxFrameBytes)
            return try await send(message, on: connection)
        }

        /// The reply's error code, or nil for a success.
        func code(_ message: Message, as uid: UInt32) async throws -> ErrorCode? {
            if case .error(let e) = try await call(message, as: uid) { return e.code }
            return nil
        }

        private func connection(_ uid: UInt32, maxFrameBytes: UInt32) async throws -> ConnectionState {
            if let c = connections[uid] { return c }
            let c = ConnectionState(peer: PeerCredentials(pid: 1, uid: uid, gid: uid), maximumFrameBytes: 64 << 20)
            connections[uid] = c
            guard case .helloOK = try await send(.hello(Hello(maxFrameBytes: maxFrameBytes)), on: c) else { throw HandshakeFailed() }
            return c
        }

        private func send(_ message: Message, on connection: ConnectionState) async throws -> Message {
            let bytes = try message.encodeFrame(requestID: nextID)
            nextID += 1
            let frame = InboundFrame(
                type: message.type.rawValue, flags: 0, requestID: nextID - 1, body: ByteBuffer(bytes: bytes[FrameHeader.byteCount...]))
            let reply = await dispatcher.handle(frame, connection: connection, logger: Logger(label: "test"))
            let out = Array(reply.frames[0].readableBytesView)
            guard let header = try out.withUnsafeBytes({ try FrameHeader.parse($0, maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes) }) else {
                throw HandshakeFailed()
            }
            return try Message.decode(Frame(rawType: header.rawType, requestID: header.requestID, body: out[FrameHeader.byteCount...]))
        }

        func close() async {
            await dispatcher.close()
            try? FileManager.default.removeItem(atPath: root)
        }

        struct HandshakeFailed: Error {}
    }

    static let shape = Shapes.tiny

    /// Block `position` of `layer` with the prefix hash of `prefix` and bytes from `seed`.
    static func block(layer: Int = 0, position: Int, prefix: UInt64, seed: UInt64) -> BlockRecord {
        var b = Shapes.block(layer: layer, position: position, seed: seed)
        b.prefixHash = PrefixHash(high: prefix, low: UInt64(position))
        return b
    }

    /// Stored bytes of one of these blocks: their bytes are incompressible, so the codec keeps
    /// them as they are behind its 12-byte header (checked against the store's count below).
    static let storedBytesPerBlock = Shapes.tiny.payloadBytes + 12

    static func append(_ peers: Peers, _ session: String, _ blocks: [BlockRecord], as uid: UInt32) async throws -> [BlockID] {
        guard case .appended(let a) = try await peers.call(.appendBlocks(AppendBlocks(session: session, blocks: blocks)), as: uid) else {
            throw Peers.HandshakeFailed()
        }
        return a.ids
    }

    static func fetch(_ peers: Peers, _ session: String, _ ids: [BlockID], as uid: UInt32) async throws -> Message {
        try await peers.call(.fetchBlocks(FetchBlocks(session: session, ids: ids)), as: uid)
    }

    @Test("two uids writing under the same prefix hash never share a block: each reads back its own bytes, in either order")
    func blocksDoNotCrossOwners() async throws {
        let peers = try Peers()
        for (first, second) in [(UInt32(65534), UInt32(1000)), (1000, 65534)] {
            let session = "doc-\(first)"
            for uid in [first, second] {
                #expect(try await peers.code(.createSession(CreateSession(name: session, descriptor: Self.shape)), as: uid) == nil,
                        "each uid has its own \(session)")
            }
            let attacker = Self.block(position: 0, prefix: 7, seed: UInt64(first))
            let victim = Self.block(position: 0, prefix: 7, seed: UInt64(second) + 1)
            let attackerIDs = try await Self.append(peers, session, [attacker], as: first)
            let victimIDs = try await Self.append(peers, session, [victim], as: second)
            #expect(attackerIDs != victimIDs)
            for (uid, ids, block) in [(first, attackerIDs, attacker), (second, victimIDs, victim)] {
                guard case .blocks(let fetched) = try await Self.fetch(peers, session, ids, as: uid) else {
                    Issue.record("uid \(uid) could not fetch its block"); continue
                }
                #expect(Array(fetched.blocks[0].record.payload) == Array(block.payload), "uid \(uid) reads its own bytes")
                #expect(fetched.blocks[0].record.representativeKey == block.representativeKey)
            }
            // Neither can fetch the other's block by id, even knowing it.
            #expect(try await peers.code(.fetchBlocks(FetchBlocks(session: session, ids: victimIDs)), as: first) == .blockNotFound)
        }
        await peers.close()
    }

    @Test("a block of another shape planted under a victim's prefix does not make the victim's appends fail")
    func plantedShapeDoesNotBlock() async throws {
        let peers = try Peers()
        var wide = Self.shape
        wide.kvHeads = 4  // same fingerprint, other payload size
        _ = try await peers.call(.createSession(CreateSession(name: "plant", descriptor: wide)), as: 65534)
        var planted = Self.block(position: 0, prefix: 9, seed: 3)
        planted.payload = [UInt8](repeating: 1, count: wide.payloadBytes)[...]
        _ = try await Self.append(peers, "plant", [planted], as: 65534)
        _ = try await peers.call(.createSession(CreateSession(name: "doc", descriptor: Self.shape)), as: 1000)
        let ids = try await Self.append(peers, "doc", [Self.block(position: 0, prefix: 9, seed: 4)], as: 1000)
        #expect(ids.count == 1)
        await peers.close()
    }

    @Test("inside an administrator's sharing group identical blocks are stored once, different bytes are never substituted")
    func sharingGroups() async throws {
        let peers = try Peers { $0.store.blockSharing = try! BlockSharing(groups: [[1000, 1001]]) }
        for uid: UInt32 in [1000, 1001] { _ = try await peers.call(.createSession(CreateSession(name: "doc", descriptor: Self.shape)), as: uid) }
        let block = Self.block(position: 0, prefix: 5, seed: 5)
        let a = try await Self.append(peers, "doc", [block], as: 1000)
        let b = try await Self.append(peers, "doc", [block], as: 1001)
        #expect(a == b, "the same bytes under the same prefix are one block in the group")
        #expect(peers.store.stats().blocks == 1)
        // 1001 sends other bytes under the same prefix: stored apart, 1000 keeps its bytes.
        var forged = Self.block(position: 1, prefix: 5, seed: 6)
        forged.prefixHash = block.prefixHash
        let c = try await Self.append(peers, "doc", [forged], as: 1001)
        #expect(c != a)
        guard case .blocks(let mine) = try await Self.fetch(peers, "doc", a, as: 1000),
              case .blocks(let theirs) = try await Self.fetch(peers, "doc", c, as: 1001)
        else { Issue.record("fetch failed"); return }
        #expect(Array(mine.blocks[0].record.payload) == Array(block.payload))
        #expect(Array(theirs.blocks[0].record.payload) == Array(forged.payload))
        // A retry of the forged append is idempotent and names the same block.
        #expect(try await Self.append(peers, "doc", [forged], as: 1001) == c)
        await peers.close()
    }

    @Test("session names are per owner: a name taken by another uid is free, its session invisible; only admins address UID/NAME")
    func namesArePerOwner() async throws {
        let peers = try Peers()
        _ = try await peers.call(.createSession(CreateSession(name: "doc~abc", descriptor: Self.shape)), as: 1000)
        _ = try await peers.call(.createSession(CreateSession(name: "doc~abc@checkpoint", descriptor: Self.shape)), as: 1000)
        // 4242 can create the same names (nothing tells it 1000 has them) and cannot reach 1000's.
        #expect(try await peers.code(.createSession(CreateSession(name: "doc~abc", descriptor: Self.shape)), as: 4242) == nil)
        #expect(try await peers.code(.openSession(SessionRequest(name: "1000/doc~abc")), as: 4242) == .sessionNotFound)
        #expect(try await peers.code(.dropSession(SessionRequest(name: "1000/doc~abc")), as: 4242) == .sessionNotFound)
        guard case .sessionList(let list) = try await peers.call(.listSessions(ListSessions()), as: 4242) else { throw Peers.HandshakeFailed() }
        #expect(list.sessions.map(\.name) == ["doc~abc"])
        // The owner sees plain names; an administrator sees others' as UID/NAME and may address them.
        guard case .sessionList(let own) = try await peers.call(.listSessions(ListSessions()), as: 1000),
              case .sessionList(let all) = try await peers.call(.listSessions(ListSessions()), as: 0)
        else { throw Peers.HandshakeFailed() }
        #expect(own.sessions.map(\.name) == ["doc~abc", "doc~abc@checkpoint"])
        #expect(all.sessions.map(\.name) == ["1000/doc~abc", "1000/doc~abc@checkpoint", "4242/doc~abc"])
        #expect(all.sessions.map(\.ownerUID) == [1000, 1000, 4242])
        #expect(try await peers.code(.openSession(SessionRequest(name: "1000/doc~abc")), as: 1000) == nil, "its own uid may qualify")
        _ = try await peers.call(.closeSession(SessionRequest(name: "doc~abc")), as: 4242)
        #expect(try await peers.code(.dropSession(SessionRequest(name: "4242/doc~abc")), as: 0) == nil)
        // New names: no control characters, spaces or slashes.
        for name in ["a\u{1b}[2J", "two words", "x/y", "tab\tname"] {
            #expect(try await peers.code(.createSession(CreateSession(name: name, descriptor: Self.shape)), as: 1000) == .badArgument, "\(name)")
        }
        await peers.close()
    }

    @Test("a session evicted and created again under its name starts with no retrieval state")
    func evictionForgetsRetrievalState() async throws {
        let perBlock = Self.storedBytesPerBlock
        let peers = try Peers { $0.store.ownerQuota = perBlock * 6 }
        _ = try await peers.call(.createSession(CreateSession(name: "s", descriptor: Self.shape)), as: 1000)
        _ = try await Self.append(peers, "s", (0..<3).map { Self.block(position: $0, prefix: 1, seed: UInt64($0)) }, as: 1000)
        #expect(peers.store.stats().storedBytes == 3 * perBlock)
        let probe = [Float](repeating: 0.5, count: Self.shape.vectorDimension)
        guard case .retrieved = try await peers.call(.retrieve(RetrieveRequest(
            session: "s", layer: 0, method: .actqkv, mode: .prefill, chunkSequence: 0, probe: probe)), as: 1000)
        else { throw Peers.HandshakeFailed() }
        _ = try await peers.call(.closeSession(SessionRequest(name: "s")), as: 1000)
        // The owner's next session needs the room: "s" is evicted.
        _ = try await peers.call(.createSession(CreateSession(name: "t", descriptor: Self.shape)), as: 1000)
        _ = try await Self.append(peers, "t", (0..<5).map { Self.block(position: $0, prefix: 2, seed: 10 + UInt64($0)) }, as: 1000)
        #expect(peers.store.session(named: "1000/s") == nil, "evicted")
        _ = try await peers.call(.createSession(CreateSession(name: "s", descriptor: Self.shape)), as: 1000)
        _ = try await peers.call(.putCheckpoint(PutCheckpoint(session: "s", chunkSequence: 1, tokenCount: 0, workerState: [][...])), as: 1000)
        guard case .checkpoint(let checkpoint) = try await peers.call(.getCheckpoint(GetCheckpoint(session: "s")), as: 1000) else {
            throw Peers.HandshakeFailed()
        }
        #expect(checkpoint.retrievalState.isEmpty, "the new session reads back no state it never produced")
        await peers.close()
    }

    @Test("an owner's writes evict only its own sessions; past its quota it gets quotaExceeded; checkpoints count")
    func quotasAreIsolated() async throws {
        let perBlock = Self.storedBytesPerBlock
        let peers = try Peers {
            $0.store.ownerQuota = perBlock * 5
            $0.store.capacity = perBlock * 7
        }
        func fill(_ name: String, _ uid: UInt32, blocks: Int, prefix: UInt64) async throws -> ErrorCode? {
            if case .error(let e) = try await peers.call(.createSession(CreateSession(name: name, descriptor: Self.shape)), as: uid) {
                return e.code
            }
            let blocks = (0..<blocks).map { Self.block(position: $0, prefix: prefix, seed: prefix * 100 + UInt64($0)) }
            if case .error(let e) = try await peers.call(.appendBlocks(AppendBlocks(session: name, blocks: blocks)), as: uid) { return e.code }
            return nil
        }
        #expect(try await fill("victim", 2000, blocks: 3, prefix: 1) == nil)
        _ = try await peers.call(.closeSession(SessionRequest(name: "victim")), as: 2000)
        // 1000 fills its quota, closes, writes again: its own old session goes, never 2000's.
        #expect(try await fill("a", 1000, blocks: 4, prefix: 2) == nil)
        _ = try await peers.call(.closeSession(SessionRequest(name: "a")), as: 1000)
        #expect(try await fill("b", 1000, blocks: 3, prefix: 3) == nil)
        #expect(peers.store.session(named: "1000/a") == nil)
        #expect(peers.store.session(named: "2000/victim") != nil, "another owner's session is never evicted")
        // With its sessions held open, 1000 cannot exceed its quota: nothing of the append is written.
        #expect(try await fill("c", 1000, blocks: 3, prefix: 4) == .quotaExceeded)
        #expect(peers.store.session(named: "1000/c")?.blocksPerLayer == [0, 0, 0])
        // A checkpoint counts too.
        let big = [UInt8](repeating: 7, count: perBlock * 3)[...]
        #expect(try await peers.code(.putCheckpoint(PutCheckpoint(session: "b", chunkSequence: 1, tokenCount: 0, workerState: big)), as: 1000)
                == .quotaExceeded)
        #expect(peers.store.usage(ofNamespace: 1000) <= perBlock * 5)
        // The store's capacity (7 blocks) holds 2000's 3 and 1000's 3: with its own session open
        // again, 2000 has nothing of its own to evict and may not evict 1000's.
        _ = try await peers.call(.openSession(SessionRequest(name: "victim")), as: 2000)
        #expect(try await fill("more", 2000, blocks: 2, prefix: 5) == .capacityExceeded)
        #expect(peers.store.session(named: "1000/b") != nil)
        await peers.close()
    }

    @Test("fetchBlocks refuses repeated ids and a reply larger than the client's frame limit before reading payloads")
    func fetchIsBounded() async throws {
        let peers = try Peers()
        var big = Self.shape
        big.headDim = 64
        big.kvHeads = 4
        big.queryHeads = 4
        big.blockSize = 8  // 8 KiB payloads
        let small: UInt32 = 64 << 10
        _ = try await peers.call(.createSession(CreateSession(name: "doc", descriptor: big)), as: 1000, maxFrameBytes: small)
        let blocks = (0..<12).map { p in
            BlockRecord(layer: 0, position: UInt32(p), prefixHash: PrefixHash(high: 3, low: UInt64(p)),
                        representativeKey: [Float](repeating: Float(p), count: big.vectorDimension),
                        payload: [UInt8](repeating: UInt8(p), count: big.payloadBytes)[...])
        }
        let ids = try await Self.append(peers, "doc", blocks, as: 1000)
        #expect(try await peers.code(.fetchBlocks(FetchBlocks(session: "doc", ids: [ids[0], ids[0]])), as: 1000) == .badArgument)
        #expect(try await peers.code(.fetchBlocks(FetchBlocks(session: "doc", ids: Array(ids.prefix(4)))), as: 1000) == nil)
        #expect(try await peers.code(.fetchBlocks(FetchBlocks(session: "doc", ids: ids)), as: 1000) == .limitExceeded,
                "12 × 8 KiB exceed the client's 64 KiB frames")
        await peers.close()
    }

    @Test("open and list report the checkpoint's sequence from its head; the store reads only the bytes asked for")
    func checkpointHeadOnly() async throws {
        let peers = try Peers()
        _ = try await peers.call(.createSession(CreateSession(name: "doc", descriptor: Self.shape)), as: 1000)
        let state = [UInt8](repeating: 9, count: 8 << 20)[...]
        #expect(try await peers.code(.putCheckpoint(PutCheckpoint(session: "doc", chunkSequence: 77, tokenCount: 5, workerState: state)), as: 1000) == nil)
        guard case .sessionInfo(let info) = try await peers.call(.openSession(SessionRequest(name: "doc")), as: 1000) else {
            throw Peers.HandshakeFailed()
        }
        #expect(info.checkpointSequence == 77)
        let head = try #require(try peers.store.checkpointPrefix(session: "1000/doc", count: CheckpointSlot.headBytes))
        #expect(head.count == CheckpointSlot.headBytes)
        #expect(CheckpointSlot.chunkSequence(head: head) == 77)
        #expect(CheckpointSlot.chunkSequence(head: Array(head.prefix(13))) == nil)
        await peers.close()
    }

    @Test("sessions stored before owners had namespaces move into their owner's, keeping their names; a taken name gets a suffix")
    func legacyNamesAreQualified() async throws {
        let peers = try Peers()
        let d = Shapes.tiny
        for (name, owner) in [("doc", UInt32(1000)), ("1000/kept", 1000), ("1000/y", 7), ("dup", 5), ("5/dup", 5)] {
            _ = try await peers.store.createSession(name: name, owner: owner, descriptor: d)
        }
        let dupID = try #require(peers.store.session(named: "dup")?.id)
        #expect(try await SessionAddress.qualifyLegacyNames(in: peers.store) == 3)
        #expect(peers.store.sessions().map(\.name).sorted()
                == ["1000/doc", "1000/kept", "5/dup", "5/dup~legacy\(dupID)", "7/1000/y"].sorted())
        #expect(try await SessionAddress.qualifyLegacyNames(in: peers.store) == 0, "idempotent")
        #expect(try await peers.code(.openSession(SessionRequest(name: "doc")), as: 1000) == nil)
        #expect(try await peers.code(.openSession(SessionRequest(name: "doc")), as: 7) == .sessionNotFound)
        await peers.close()
    }
}
