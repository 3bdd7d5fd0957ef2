import Foundation
import KVClient
import LanguageModel
import LanguageModelTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real `actqkv serve` process (SmolLM2) on a free port.
final class ServeProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let errPath: URL
    var baseURL: String { "http://127.0.0.1:\(port)" }
    static let modelID = URL(fileURLWithPath: WorkerProcess.modelPath).deletingPathExtension().lastPathComponent

    /// Starts `actqkv serve --port 0 arguments…` and waits until it prints its address.
    init(_ arguments: [String], directory: URL, timeout: Double = 120) throws {
        let (p, out, err) = try WorkerProcess.start(["--port", "0"] + arguments, command: "serve", directory: directory)
        process = p
        errPath = err
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if let r = text.range(of: #"http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(text[r].split(separator: ":").last!)!
                return
            }
            guard p.isRunning else { throw HarnessError("actqkv serve exited: \((try? String(contentsOf: err, encoding: .utf8)) ?? "")") }
            usleep(50_000)
        }
        kill(p.processIdentifier, SIGKILL)
        throw HarnessError("actqkv serve did not start within \(timeout) s")
    }

    /// What the server logged so far.
    var log: String { (try? String(contentsOf: errPath, encoding: .utf8)) ?? "" }

    /// SIGTERM (graceful shutdown), then wait.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs a check of `Serve/openai_client.py` (the official `openai` package) and decodes its JSON.
    func client(_ check: String, _ arguments: [String]) throws -> [String: Any] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Serve/openai_client.py").path
        let r = try ChildProcess.run(["python3", script, baseURL, Self.modelID, check] + arguments)
        guard r.status == 0, let line = r.output.split(separator: "\n").last,
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw HarnessError("openai_client.py \(check) failed (\(r.status)): \(r.output)")
        }
        return object
    }

    /// `curl` with `arguments`; returns the HTTP status and the body.
    func curl(_ path: String, _ arguments: [String] = []) throws -> (status: Int, body: String) {
        let r = try ChildProcess.run(["curl", "-s", "-w", "\n%{http_code}"] + arguments + [baseURL + path])
        guard let last = r.output.split(separator: "\n", omittingEmptySubsequences: false).last, let status = Int(last) else {
            throw HarnessError("curl \(path): \(r.output)")
        }
        return (status, String(r.output.dropLast(last.count + 1)))
    }

    /// `curl` a JSON POST.
    func post(_ path: String, json: String) throws -> (status: Int, body: [String: Any]) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("serve-body-\(UUID().uuidString.prefix(8)).json")
        try Data(json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, body) = try curl(path, ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + file.path])
        return (status, (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? ["raw": body])
    }
}

private func usage(_ o: [String: Any]) -> [String: Int] {
    ((o["usage"] as? [String: Any]) ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
}

private func errorObject(_ body: [String: Any]) -> [String: Any] { (body["error"] as? [String: Any]) ?? [:] }

/// `actqkv serve` end to end: the official `openai` client and curl against the real server
/// process, the real model and a real kvd.
@Suite(.serialized) final class ServeTests {
    let directory: URL

    deinit { try? FileManager.default.removeItem(at: directory) }

    init() throws {
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("serve-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let check = try ChildProcess.run(["python3", "-c", "import openai"])
        try #require(check.status == 0, "the openai package is missing: run scripts/setup.sh (pip install openai)")
    }

    func write(_ text: String, _ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Tokens of the chat template applied to `[system(document)]`: the prefix every question
    /// about the document shares.
    func documentPrefixTokens(_ document: String) throws -> Int {
        let text = try TextModel(path: WorkerProcess.modelPath)
        return text.tokenizer.encode(try text.requireChatTemplate().render([.system(document)], addGenerationPrompt: false)).count
    }

    @Test func streamedChatAndCompletionsThroughTheOpenAIClientAndCurl() throws {
        let server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd").path], directory: directory)
        defer { server.stop() }

        let stream = try server.client("chat-stream", [try write("Write one sentence about the sea.", "q.txt"), "12"])
        #expect(stream["roles"] as? [String] == ["assistant"])
        #expect((stream["text"] as? String ?? "").count > 3)
        let u = usage(stream)
        #expect(u["prompt_tokens"] ?? 0 > 10)
        #expect((1...12).contains(u["completion_tokens"] ?? 0))
        // One chunk with the role, one per text piece, one with finish_reason, one with usage.
        #expect(stream["chunks"] as? Int ?? 0 >= 4)
        #expect(["stop", "length"].contains(stream["finish_reason"] as? String ?? ""))

        let prompt = try write("The three primary colours are red,", "p.txt")
        let completion = try server.client("completion", [prompt, "8"])
        #expect(completion["object"] as? String == "text_completion")
        #expect(usage(completion)["completion_tokens"] ?? 0 >= 1)
        // curl gets the same greedy continuation.
        let (status, body) = try server.post("/v1/completions", json: """
            {"model": "\(ServeProcess.modelID)", "prompt": "The three primary colours are red,", "max_tokens": 8, "temperature": 0}
            """)
        #expect(status == 200)
        let choice = (body["choices"] as? [[String: Any]])?.first ?? [:]
        #expect(choice["text"] as? String == completion["text"] as? String)
        #expect(usage(body)["prompt_tokens"] == usage(completion)["prompt_tokens"])

        let (healthStatus, health) = try server.curl("/health")
        #expect(healthStatus == 200 && health.contains("\"ok\""))
        let (_, models) = try server.curl("/v1/models")
        #expect(models.contains(ServeProcess.modelID))
    }

    @Test func aDocumentsPrefixIsReusedByLaterRequestsAcrossARestart() throws {
        let document = WorkerProcess.passkeyDocument(key: 71_432, sentences: 170, depth: 0.4)
        let shared = try documentPrefixTokens(document)
        let system = try write(document, "doc.txt")
        let data = directory.appendingPathComponent("kvd").path

        var server = try ServeProcess(["--data-dir", data], directory: directory)
        let first = try server.client("chat", [system, "What is the pass key?", "12"])
        #expect(usage(first)["prompt_tokens"] ?? 0 > 3000)
        #expect(usage(first)["cached_tokens"] == 0)
        let second = try server.client("chat", [system, "Tell me the pass key, please.", "12"])
        #expect(usage(second)["cached_tokens"] ?? 0 >= shared, "second question over the same document: \(usage(second)), shared \(shared)")
        // The same request again: from the standby its predecessor left (or kvd), the same answer.
        let repeated = try server.client("chat", [system, "Tell me the pass key, please.", "12"])
        #expect(usage(repeated)["cached_tokens"] ?? 0 >= (usage(repeated)["prompt_tokens"] ?? 0) - 8, "\(usage(repeated))")
        #expect(repeated["text"] as? String == second["text"] as? String)

        // GET /metrics, read by Prometheus' reference parser.
        let metrics = try server.client("metrics", [])
        #expect((metrics["content_type"] as? String ?? "").hasPrefix("text/plain; version=0.0.4"))
        let samples = (metrics["samples"] as? [[Any]] ?? []).compactMap { s -> (String, [String: String], Double)? in
            guard s.count == 3, let n = s[0] as? String, let l = s[1] as? [String: String], let v = (s[2] as? NSNumber)?.doubleValue else { return nil }
            return (n, l, v)
        }
        func total(_ name: String, _ labels: [String: String] = [:]) -> Double {
            samples.filter { sample in sample.0 == name && labels.allSatisfy { sample.1[$0.key] == $0.value } }.reduce(0) { $0 + $1.2 }
        }
        #expect(total("actqkv_serve_generations_total") == 3)
        let cachedSum = Double((usage(second)["cached_tokens"] ?? 0) + (usage(repeated)["cached_tokens"] ?? 0))
        #expect(total("actqkv_serve_cached_tokens_total") == cachedSum)
        #expect(total("actqkv_serve_time_to_first_token_seconds_count") == 3)
        #expect(total("actqkv_hb_requests_total", ["http_route": "/v1/chat/completions", "http_response_status_code": "200"]) == 3)
        #expect((metrics["types"] as? [String: String])?["actqkv_serve_standbys"] == "gauge")
        #expect(total("actqkv_serve_standbys") >= 1, "standbys ready after three requests over one document")
        server.stop()

        // A new server process (and a new embedded kvd on the same data directory).
        server = try ServeProcess(["--data-dir", data], directory: directory)
        defer { server.stop() }
        let again = try server.client("chat", [system, "Tell me the pass key, please.", "12"])
        // Stored by the same request before the restart: everything up to the end of the user
        // message (the few tokens of the generation prompt after it are computed).
        let promptTokens = usage(again)["prompt_tokens"] ?? 0
        #expect((promptTokens - 8..<promptTokens).contains(usage(again)["cached_tokens"] ?? 0), "\(usage(again))")
        #expect(again["text"] as? String == second["text"] as? String, "the cached state answers exactly as the computed one")
        let third = try server.client("chat", [system, "Which number is the pass key?", "12"])
        #expect(usage(third)["cached_tokens"] ?? 0 >= shared)
        // The next turn of that chat reuses the whole previous turn (stored at its message's end).
        let turn = [["role": "system", "content": document], ["role": "user", "content": "Which number is the pass key?"],
                    ["role": "assistant", "content": third["text"] as? String ?? ""], ["role": "user", "content": "Say it once more."]]
        let turnFile = try write(String(decoding: try JSONSerialization.data(withJSONObject: turn), as: UTF8.self), "turn.json")
        let next = try server.client("conversation", [turnFile, "12"])
        #expect(usage(next)["cached_tokens"] ?? 0 >= (usage(third)["prompt_tokens"] ?? 0) - 8, "next turn \(usage(next)), previous \(usage(third))")
    }

    @Test func twoServersOnOneKvdReuseEachOthersPrefix() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let document = WorkerProcess.passkeyDocument(key: 20_917, sentences: 170, depth: 0.7)
        let shared = try documentPrefixTokens(document)
        let system = try write(document, "doc2.txt")
        let a = try ServeProcess(["--socket", daemon.socketPath], directory: directory)
        defer { a.stop() }
        let b = try ServeProcess(["--socket", daemon.socketPath], directory: directory)
        defer { b.stop() }
        let fromA = try a.client("chat", [system, "What is the pass key?", "8"])
        #expect(usage(fromA)["cached_tokens"] == 0)
        let fromB = try b.client("chat", [system, "What number is the pass key?", "8"])
        #expect(usage(fromB)["cached_tokens"] ?? 0 >= shared, "server B over server A's document: \(usage(fromB)), shared \(shared)")
    }

    @Test func theTemporarySessionsOfAKilledServerAreDroppedByTheNextOne() async throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let system = try write(WorkerProcess.passkeyDocument(key: 33_001, sentences: 60, depth: 0.5), "killed.txt")
        let a = try ServeProcess(["--socket", daemon.socketPath], directory: directory)
        _ = try a.client("chat", [system, "What is the pass key?", "4"])
        // Its standbys (kvd sessions held by its connection) are prepared in the background.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !(try a.curl("/metrics").body.contains("actqkv_serve_standbys 2")) { usleep(100_000) }
        kill(a.process.processIdentifier, SIGKILL)
        a.process.waitUntilExit()
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        defer { client.close() }
        let left = try await client.allSessions().map(\.name)
        #expect(left.filter { $0.hasPrefix("actqkv-standby-") }.count == 2, "after the kill: \(left)")

        let b = try ServeProcess(["--socket", daemon.socketPath], directory: directory)
        defer { b.stop() }
        let after = try await client.allSessions().map(\.name)
        #expect(after.allSatisfy { $0.hasPrefix("prompt~") } && after.count == left.filter { $0.hasPrefix("prompt~") }.count,
                "the killed server's temporary sessions dropped, the prompt cache kept: \(after)")
        #expect(b.log.contains("temporary sessions of processes that were killed"))
        let again = try b.client("chat", [system, "What is the pass key?", "4"])
        #expect(usage(again)["cached_tokens"] ?? 0 > 0, "\(usage(again))")
    }

    @Test func aPromptLongerThanTheModelsContextFindsTheNeedle() throws {
        let server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd").path], directory: directory)
        defer { server.stop() }
        let document = WorkerProcess.passkeyDocument(key: 58_213, sentences: 460, depth: 0.3)
        let user = try write(document + "\n\nWhat is the pass key? Answer with the number only.", "long.txt")
        let answer = try server.client("chat-stream", [user, "16"])
        let context = try TextModel(path: WorkerProcess.modelPath).model.config.contextLength
        #expect(usage(answer)["prompt_tokens"] ?? 0 > context, "the prompt must exceed the model's \(context)-token context")
        #expect((answer["text"] as? String ?? "").contains("58213"), "answer: \(answer["text"] ?? "")")
    }

    @Test func badRequestsGetOpenAIErrorsAndTheServerKeepsServing() throws {
        let server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd").path, "--max-body-bytes", "4096",
                                       "--max-prompt-tokens", "200"], directory: directory)
        defer { server.stop() }
        let errors = try server.client("errors", [])
        let expected: [String: (Int, String, String?)] = [
            "unknown model": (404, "model_not_found", "model"), "temperature too high": (400, "invalid_value", "temperature"),
            "top_p zero": (400, "invalid_value", "top_p"), "n of 2": (400, "invalid_value", "n"),
            "bad role": (400, "invalid_value", "messages[0].role"), "no messages": (400, "invalid_value", "messages"),
            "max_tokens zero": (400, "invalid_value", "max_tokens"),
        ]
        for (name, (status, code, param)) in expected {
            let e = errors[name] as? [String: Any] ?? [:]
            #expect(e["status"] as? Int == status, "\(name): \(e)")
            #expect(e["code"] as? String == code, "\(name): \(e)")
            #expect(e["param"] as? String == param, "\(name): \(e)")
            #expect(e["type"] as? String == "invalid_request_error", "\(name): \(e)")
        }
        let model = ServeProcess.modelID
        let cases: [(String, String, Int, String)] = [
            ("/v1/chat/completions", "{\"model\": \"\(model)\", \"messages\": [", 400, "invalid_request"),
            ("/v1/chat/completions", "{\"model\": \"\(model)\", \"messages\": \"hi\"}", 400, "invalid_value"),
            ("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", 400, "invalid_value"),
            ("/v1/completions", "{\"model\": \"\(model)\", \"prompt\": \"\(String(repeating: "word ", count: 1000))\"}", 413, "request_too_large"),
            ("/v1/completions", "{\"model\": \"\(model)\", \"prompt\": \"\(String(repeating: "word ", count: 400))\"}", 400, "context_length_exceeded"),
            ("/v1/completions", "{\"model\": \"\(model)\", \"prompt\": [1, 2, 99999999]}", 400, "invalid_value"),
            ("/v1/completions", "{\"model\": \"\(model)\", \"prompt\": \"hi\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 400, "invalid_value"),
        ]
        for (path, json, status, code) in cases {
            let (s, body) = try server.post(path, json: json)
            #expect(s == status, "\(json.prefix(80)): \(body)")
            #expect(errorObject(body)["code"] as? String == code, "\(json.prefix(80)): \(body)")
            #expect(errorObject(body)["message"] as? String != nil)
        }
        // Still serving.
        let (s, body) = try server.post("/v1/completions", json: "{\"model\": \"\(model)\", \"prompt\": \"Once upon a time\", \"max_tokens\": 4}")
        #expect(s == 200, "\(body)")
        #expect(usage(body)["completion_tokens"] ?? 0 >= 1)
    }

    @Test func stopSequencesEndTheAnswerWithoutShowingThem() throws {
        let server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd").path], directory: directory)
        defer { server.stop() }
        let model = ServeProcess.modelID
        let prompt = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"
        let (s0, free) = try server.post("/v1/completions", json: "{\"model\": \"\(model)\", \"prompt\": \"\(prompt)\", \"max_tokens\": 24, \"temperature\": 0}")
        let full = ((free["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        try #require(s0 == 200 && full.contains("14"), "the model counts on: \(full)")
        let (s, body) = try server.post("/v1/completions", json: "{\"model\": \"\(model)\", \"prompt\": \"\(prompt)\", \"max_tokens\": 24, \"temperature\": 0, \"stop\": [\"14\"]}")
        let choice = (body["choices"] as? [[String: Any]])?.first ?? [:]
        #expect(s == 200)
        #expect(choice["text"] as? String == String(full[..<full.range(of: "14")!.lowerBound]))
        #expect(choice["finish_reason"] as? String == "stop")
    }

    @Test func aShortRequestIsNotHeldBehindALongOne() throws {
        // A long generation streams; a short request sent after its first token ends long before it.
        let counting = try write((1...40).map(String.init).joined(separator: ", ") + ",", "count.txt")
        let short = try write("The capital of France is", "short.txt")
        let server = try ServeProcess([], directory: directory)
        defer { server.stop() }
        let r = try server.client("interleave", [counting, "400", short, "8"])
        let longEnd = (r["long_end"] as? NSNumber)?.doubleValue ?? 0, shortEnd = (r["short_end"] as? NSNumber)?.doubleValue ?? .infinity
        #expect((r["long_tokens"] as? NSNumber)?.intValue ?? 0 >= 200, "the long generation ran long: \(r)")
        #expect((r["short_tokens"] as? NSNumber)?.intValue ?? 0 >= 1)
        #expect(shortEnd < longEnd, "the short request waited for the long one: \(r)")
        let health = try server.curl("/health")
        #expect(health.body.contains("\"active\":0"), "\(health.body)")
    }

    @Test func aClientThatDisconnectsMidStreamFreesTheWorker() throws {
        let server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd").path], directory: directory)
        defer { server.stop() }
        let prompt = try write("1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "count.txt")
        let gone = try server.client("disconnect", [prompt, "3000", "5"])
        #expect(gone["chunks"] as? Int == 5)
        // The next request is served; the abandoned generation stopped long before its 3000 tokens.
        let next = try server.client("completion", [prompt, "4"])
        #expect(usage(next)["completion_tokens"] ?? 0 >= 1)
        let line = server.log.split(separator: "\n").first { $0.contains("client disconnected, generation stopped") }
        let stoppedAt = line.flatMap { l in l.range(of: #"completion_tokens=(\d+)"#, options: .regularExpression).map { Int(l[$0].dropFirst(18))! } }
        #expect(stoppedAt != nil && stoppedAt! < 200, "log: \(server.log)")
    }

    @Test func aFullKvdSkipsTheCachePointsItHasNoRoomForAndRefusesPromptsItCannotHoldWith503() throws {
        // 100 MB: a ≈ 4K-token document's blocks fit (≈ 71 MB), not its cache points' checkpoints
        // (≈ 28 MB each) beside the run's own: the requests are answered, the points skipped.
        let document = WorkerProcess.passkeyDocument(key: 40_125, sentences: 170, depth: 0.5)
        let system = try write(document, "full.txt")
        var server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd-100m").path, "--capacity", "100000000"],
                                      directory: directory)
        for _ in 0..<2 {
            let answer = try server.client("chat", [system, "What is the pass key?", "8"])
            #expect(usage(answer)["prompt_tokens"] ?? 0 > 3000)
        }
        #expect(server.log.contains("cache_points_skipped_full_kvd="), "the log says which points kvd had no room for")
        server.stop()
        // 10 MB: not even the prompt's blocks fit — OpenAI's error object with 503, and the server keeps serving.
        server = try ServeProcess(["--data-dir", directory.appendingPathComponent("kvd-10m").path, "--capacity", "10000000"],
                                  directory: directory)
        defer { server.stop() }
        let model = ServeProcess.modelID
        let long = String(decoding: try JSONSerialization.data(withJSONObject: [
            "model": model, "prompt": WorkerProcess.passkeyDocument(key: 1, sentences: 70, depth: 0.5), "max_tokens": 4,
        ]), as: UTF8.self)
        let (status, body) = try server.post("/v1/completions", json: long)
        #expect(status == 503, "\(body)")
        #expect(errorObject(body)["code"] as? String == "kvd_full", "\(body)")
        #expect(errorObject(body)["type"] as? String == "server_error")
        let (after, afterBody) = try server.post("/v1/completions", json: "{\"model\": \"\(model)\", \"prompt\": \"Once upon a time\", \"max_tokens\": 4}")
        #expect(after == 200, "\(afterBody)")
    }

    @Test func kvdLostIsA503AndTheServerRecoversWhenItReturns() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let server = try ServeProcess(["--socket", daemon.socketPath], directory: directory)
        defer { server.stop() }
        let model = ServeProcess.modelID
        let request = "{\"model\": \"\(model)\", \"prompt\": \"Once upon a time\", \"max_tokens\": 4}"
        #expect(try server.post("/v1/completions", json: request).status == 200)
        _ = try daemon.stop(signal: SIGKILL)
        let (status, body) = try server.post("/v1/completions", json: request)
        #expect(status == 503, "\(body)")
        #expect(errorObject(body)["code"] as? String == "kvd_unavailable")
        #expect(try server.curl("/health").status == 200)
        try daemon.start()
        let (after, afterBody) = try server.post("/v1/completions", json: request)
        #expect(after == 200, "\(afterBody)")
    }
}
