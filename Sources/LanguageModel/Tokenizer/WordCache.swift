/// The per-call cache of an `encode`: word bytes → where that word's tokens already are in the
/// output. Words are byte ranges of the text being encoded, so nothing is copied; an entry is
/// found by an FNV-1a hash and confirmed by comparing bytes. Open addressing, at most half full.
struct WordCache {
    private struct Entry {
        var hash: UInt64
        var byteStart: Int32
        var byteCount: Int32
        var tokenStart: Int32
        var tokenCount: Int32
    }

    private var entries: [Entry] = []
    private var occupied = 0

    /// FNV-1a over the bytes (never 0: 0 marks a free slot).
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for index in range {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
        }
        return hash == 0 ? 1 : hash
    }

    /// The output range of the tokens of the word `bytes[range]`, if cached.
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, hash: UInt64) -> Range<Int>? {
        if entries.isEmpty { return nil }
        let mask = entries.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = entries[slot]
            if entry.hash == 0 { return nil }
            if entry.hash == hash && Int(entry.byteCount) == range.count {
                let start = Int(entry.byteStart)
                var equal = true
                for offset in 0..<range.count where bytes[start + offset] != bytes[range.lowerBound + offset] {
                    equal = false
                    break
                }
                if equal { return Int(entry.tokenStart)..<Int(entry.tokenStart + entry.tokenCount) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Records that the word `bytes[range]` encodes to `output[tokens]`. Offsets must fit Int32.
    mutating func insert(_ range: Range<Int>, hash: UInt64, tokens: Range<Int>) {
        if (occupied + 1) * 2 > entries.count { grow() }
        insertEntry(Entry(hash: hash, byteStart: Int32(range.lowerBound), byteCount: Int32(range.count),
                          tokenStart: Int32(tokens.lowerBound), tokenCount: Int32(tokens.count)))
        occupied += 1
    }

    private mutating func insertEntry(_ entry: Entry) {
        let mask = entries.count - 1
        var slot = Int(truncatingIfNeeded: entry.hash) & mask
        while entries[slot].hash != 0 { slot = (slot + 1) & mask }
        entries[slot] = entry
    }

    private mutating func grow() {
        let old = entries
        entries = Array(repeating: Entry(hash: 0, byteStart: 0, byteCount: 0, tokenStart: 0, tokenCount: 0),
                        count: max(256, old.count * 2))
        for entry in old where entry.hash != 0 { insertEntry(entry) }
    }
}
