/// One line of a results file: one sample run by one method (docs/EVALUATION.md §"Results file").
public struct EvalRecord: Sendable, Hashable, Codable {
    public var task: String
    /// The sample's length, tokens.
    public var length: Int
    public var seed: UInt64
    public var index: Int
    /// The method's name (dense, infllm, actqkv, …).
    public var method: String
    /// The model file's name.
    public var model: String
    /// The retrieval and worker settings, in words; equal settings give equal text.
    public var settings: String
    /// FNV-1a 64 of the prompt's token ids, hexadecimal: the same sample gives the same digest.
    public var promptDigest: String
    public var promptTokens: Int
    public var references: [String]
    /// Where each reference sits in the context, 0…1 (nil: no single place).
    public var referenceDepths: [Double?]
    /// Whether each reference occurs in the prediction.
    public var hits: [Bool]
    /// The sample's score in [0, 1].
    public var score: Double
    /// The generated text.
    public var prediction: String
    public var generatedTokens: Int
    /// Seconds to the first answer token, and decoding after it.
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public init(task: String, length: Int, seed: UInt64, index: Int, method: String, model: String, settings: String, promptDigest: String,
                promptTokens: Int, references: [String], referenceDepths: [Double?], hits: [Bool], score: Double, prediction: String,
                generatedTokens: Int, prefillSeconds: Double, decodeSeconds: Double) {
        self.task = task; self.length = length; self.seed = seed; self.index = index; self.method = method; self.model = model
        self.settings = settings; self.promptDigest = promptDigest; self.promptTokens = promptTokens; self.references = references
        self.referenceDepths = referenceDepths; self.hits = hits; self.score = score; self.prediction = prediction
        self.generatedTokens = generatedTokens; self.prefillSeconds = prefillSeconds; self.decodeSeconds = decodeSeconds
    }

    /// What identifies a record: one per sample and method in a file.
    public var key: Key { Key(task: task, length: length, seed: seed, index: index, method: method) }

    /// The identity of a record.
    public struct Key: Sendable, Hashable, CustomStringConvertible {
        public var task: String, length: Int, seed: UInt64, index: Int, method: String
        public init(task: String, length: Int, seed: UInt64, index: Int, method: String) {
            self.task = task; self.length = length; self.seed = seed; self.index = index; self.method = method
        }
        public var description: String { "\(task) length \(length) seed \(seed) #\(index) \(method)" }
    }

    /// Seconds the sample took.
    public var seconds: Double { prefillSeconds + decodeSeconds }

    /// FNV-1a 64 of the token ids' little-endian bytes, as 16 hexadecimal digits.
    public static func digest(tokens: [Int32]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in tokens {
            var v = UInt32(bitPattern: t)
            for _ in 0..<4 { h = (h ^ UInt64(v & 0xFF)) &* 0x100_0000_01B3; v >>= 8 }
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
