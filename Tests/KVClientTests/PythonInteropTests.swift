import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import Protocol
import Testing

/// The Swift client and the Python one (clients/python, `kvd_client`, run as a real `python3`
/// process) on one in-process kvd: they see the same blocks. Fails — never skips — when
/// python3 or kvd_client is missing (scripts/test.sh installs kvd_client before `swift test`).
@Suite("Swift and Python clients on one daemon")
struct PythonInteropTests {
    /// What `python3 -m kvd_client retrieve` prints.
    struct RetrieveOutput: Decodable {
        var k: UInt32
        var totalBlocks: UInt32
        var ids: [String]
        var positions: [UInt32]
        var payloadIndices: [UInt32]
    }

    @Test("retrieve by KVClient and by `python3 -m kvd_client retrieve` choose the same blocks (infllm, actqkv; with and without payloads)")
    func retrieveAgrees() async throws {
        // K = 32 / 8 = 4 blocks per layer out of 24: a real choice.
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        do {
            try await withHangGuard(seconds: 300) {
                let client = try await daemon.connect()
                defer { client.close() }
                daemon.watch(client)
                let session = "interop"
                _ = try await client.createSession(session, descriptor: testDescriptor)
                var appended: [BlockID: BlockRecord] = [:]
                for layer in 0..<UInt16(testDescriptor.layers) {
                    let blocks = makeBlocks(layer: layer, positions: 0..<24, seed: 16)
                    let ids = try await client.appendBlocks(session: session, blocks: blocks)
                    for (id, block) in zip(ids, blocks) { appended[id] = block }
                }
                let probe = (0..<testDescriptor.vectorDimension).map { Float(($0 * 37) % 101 - 50) / 25 }
                let probeFile = daemon.root + "/probe.f32"
                try Data(probe.wireBytes).write(to: URL(fileURLWithPath: probeFile))

                var chunk: UInt64 = 1
                for (method, name) in [(RetrievalMethod.infllm, "infllm"), (.actqkv, "actqkv")] {
                    for wantPayloads in [false, true] {
                        for layer: UInt16 in [0, 3] {
                            // Prefill: every layer gets min(N, K) blocks whatever the chunk's pool
                            // and density history (docs/ACTQKV.md), so the two calls, each in a
                            // chunk of its own, must choose alike.
                            let swift = try await client.retrieve(
                                RetrieveRequest(
                                    session: session, layer: layer, method: method, mode: .prefill, chunkSequence: chunk,
                                    probe: probe, wantPayloads: wantPayloads))
                            var arguments = [
                                "-m", "kvd_client", "--socket", daemon.socketPath, "retrieve", session, "--layer", "\(layer)",
                                "--probe", probeFile, "--method", name, "--mode", "prefill", "--chunk", "\(chunk + 1)",
                            ]
                            if wantPayloads { arguments.append("--payloads") }
                            let python = try Python.json(arguments, as: RetrieveOutput.self)
                            chunk += 2
                            let label = "\(name), layer \(layer), payloads \(wantPayloads)"
                            #expect(swift.chosen.count == 4, "\(label)")
                            #expect(swift.chosen.map(\.id.wireHex) == python.ids, "\(label)")
                            #expect(swift.chosen.map(\.position) == python.positions, "\(label)")
                            #expect((swift.k, swift.totalBlocks) == (python.k, python.totalBlocks), "\(label)")
                            #expect(swift.payloads.map(\.index) == python.payloadIndices, "\(label)")
                            #expect(swift.payloads.count == (wantPayloads ? swift.chosen.count : 0), "\(label)")
                            for p in swift.payloads {
                                #expect(p.payload == appended[swift.chosen[Int(p.index)].id]?.payload, "\(label): payload \(p.index)")
                            }
                        }
                    }
                }
            }
        } catch {
            try await daemon.stop()
            throw error
        }
        try await daemon.stop()
    }

    /// What the writer script prints: the ids `appendBlocks` returned and each block's wire
    /// bytes as hex (key: D little-endian f32, payload: K then V fp16).
    struct WrittenSession: Decodable {
        struct Block: Decodable {
            var id: String
            var layer: UInt16
            var position: UInt32
            var prefixHash: String
            var key: String
            var payload: String
        }
        var blocks: [Block]
    }

    static let writerScript = """
        import json, sys
        import numpy as np
        from kvd_client import Client, Descriptor, ElementType
        socket, name = sys.argv[1], sys.argv[2]
        d = Descriptor(layers=3, query_heads=4, kv_heads=2, head_dim=8, element_type=ElementType.FP16,
                       block_size=4, fingerprint=0xFEDCBA9876543210)
        rng = np.random.default_rng(16)
        n = 5  # blocks per layer, layers mixed in one request
        layers = [layer for layer in range(3) for _ in range(n)]
        positions = [p for _ in range(3) for p in range(n)]
        hashes = rng.integers(0, 256, size=(3 * n, 16), dtype=np.uint8)
        keys = rng.standard_normal((3 * n, 32)).astype(np.float32)  # D = 4 * 8
        payloads = rng.standard_normal((3 * n, 2, 2, 4, 8)).astype(np.float16)
        with Client(socket) as client:
            client.create_session(name, d)
            ids = client.append_blocks(name, layers, positions, hashes, keys, payloads)
        h = lambda b: b.hex().upper()
        print(json.dumps({"blocks": [
            {"id": h(ids[i]), "layer": layers[i], "position": positions[i], "prefixHash": h(hashes[i].tobytes()),
             "key": h(keys[i].astype("<f4").tobytes()), "payload": h(payloads[i].astype("<f2").tobytes())}
            for i in range(3 * n)]}))
        """

    func id(_ hex: String) throws -> BlockID {
        guard let id = BlockID(wireHex: hex) else { throw PythonError("python3 printed \(hex) as an id") }
        return id
    }

    @Test("a session written by kvd_client (python3) is forked by KVClient and its blocks fetched bit-exact")
    func pythonSessionForkedAndFetched() async throws {
        let daemon = try await InProcessDaemon()
        do {
            try await withHangGuard(seconds: 300) {
                let written = try Python.json(["-c", Self.writerScript, daemon.socketPath, "pywritten"], as: WrittenSession.self)
                #expect(written.blocks.count == 15)
                let client = try await daemon.connect()
                defer { client.close() }
                daemon.watch(client)
                let fork = try await client.forkSession(from: "pywritten", to: "pywritten.swift")
                #expect(
                    fork.descriptor
                        == ModelDescriptor(
                            layers: 3, queryHeads: 4, kvHeads: 2, headDim: 8, elementType: .fp16, blockSize: 4,
                            fingerprint: 0xFEDC_BA98_7654_3210))
                #expect(fork.blockCounts == [5, 5, 5])
                let fetched = try await client.fetchBlocks(session: "pywritten.swift", ids: written.blocks.map { try id($0.id) })
                #expect(fetched.count == written.blocks.count)
                for (got, want) in zip(fetched, written.blocks) {
                    let r = got.record
                    let label = "layer \(want.layer) position \(want.position)"
                    #expect(got.id.wireHex == want.id, "\(label)")
                    #expect((r.layer, r.position) == (want.layer, want.position), "\(label)")
                    #expect(r.prefixHash.wireHex == want.prefixHash, "\(label)")
                    #expect(hexString(r.representativeKey.wireBytes) == want.key, "\(label)")
                    #expect(hexString(r.payload) == want.payload, "\(label)")
                }
            }
        } catch {
            try await daemon.stop()
            throw error
        }
        try await daemon.stop()
    }
}

/// Runs `python3` (through `env`, so the PATH's) as a child process and decodes what it writes
/// on standard output as JSON. The one way these tests run Python.
enum Python {
    static let install = "run `pip install ./clients/python` (from the repository root; scripts/test.sh does before `swift test`)"

    static func json<T: Decodable>(_ arguments: [String], as type: T.Type) throws -> T {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        do {
            try process.run()
        } catch {
            throw PythonError("cannot start python3 (\(error)): install Python 3, then \(install)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 {
                throw PythonError("python3 not found on PATH: install Python 3, then \(install)")
            }
            // kvd_client, or NumPy (its dependency, which the install brings too).
            if let missing = stderr.split(separator: "\n").first(where: { $0.contains("No module named") }) {
                throw PythonError("the Python client is not installed for python3 (\(missing)): \(install)")
            }
            let command = arguments.first == "-c" ? ["-c", "<script>"] + arguments.dropFirst(2) : arguments
            throw PythonError("python3 \(command.joined(separator: " ")) exited with \(process.terminationStatus):\n\(stderr)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw PythonError("python3 printed no \(T.self) JSON (\(error)):\n\(String(decoding: data, as: UTF8.self))\n\(stderr)")
        }
    }
}

struct PythonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
