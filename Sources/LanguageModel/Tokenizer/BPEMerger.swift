/// Byte-level BPE over one pre-token: starts from one token per byte and repeatedly applies the
/// merge of lowest rank among adjacent pairs (leftmost first on ties), the order llama.cpp and
/// Hugging Face `tokenizers` use. A priority queue keeps a word of n bytes at O(n log n).
struct BPEMerger: Sendable {
    /// `(left << 32 | right)` → `(rank << 32 | merged)`, all token ids / ranks as UInt32.
    private let merges: MergeTable
    /// Token id of each single byte, or -1 when the vocabulary has no token for that byte.
    let byteTokens: [Int32]

    /// - Parameters:
    ///   - merges: `(left, right, merged)` token ids, in rank order (index = rank). When the same
    ///     pair appears twice, the first (lowest rank) wins.
    ///   - byteTokens: 256 entries, token id of each byte or -1.
    init(merges: [(left: Int32, right: Int32, merged: Int32)], byteTokens: [Int32]) {
        precondition(byteTokens.count == 256)
        self.merges = MergeTable(merges.enumerated().map { rank, merge in
            (Self.pairKey(merge.left, merge.right), UInt64(UInt32(rank)) << 32 | UInt64(UInt32(bitPattern: merge.merged)))
        })
        self.byteTokens = byteTokens
    }

    @inline(__always)
    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Rank and merged token of the pair, or `nil` if no merge rule joins them.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32)? {
        guard left >= 0, right >= 0, let value = merges.value(for: Self.pairKey(left, right)) else { return nil }
        return (UInt32(truncatingIfNeeded: value >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
    }

    /// Reusable scratch memory for ``encode(_:into:workspace:)``.
    struct Workspace {
        var ids: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var heap = MergeQueue<Bigram>()
        var pairRanks: [UInt32] = []
        var pairMerged: [Int32] = []
    }

    /// Words up to this many bytes use the array scan of ``encodeShort(_:into:workspace:)``;
    /// longer ones the priority queue (measured crossover, see docs/BENCHMARKS.md).
    static let shortWordLimit = 64

    /// Appends the tokens of one pre-token (`bytes`, raw UTF-8) to `output`. Bytes without a token
    /// of their own that no merge absorbs are dropped, as llama.cpp does.
    func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace: inout Workspace,
        shortWordLimit: Int = BPEMerger.shortWordLimit
    ) {
        let count = bytes.count
        if count == 0 { return }
        if count == 1 {
            let id = byteTokens[Int(bytes[0])]
            if id >= 0 { output.append(id) }
            return
        }
        if count <= shortWordLimit {
            encodeShort(bytes, into: &output, workspace: &workspace)
            return
        }
        workspace.ids.removeAll(keepingCapacity: true)
        workspace.previous.removeAll(keepingCapacity: true)
        workspace.next.removeAll(keepingCapacity: true)
        workspace.heap.removeAll()
        for index in 0..<count {
            workspace.ids.append(byteTokens[Int(bytes[index])])
            workspace.previous.append(Int32(index - 1))
            workspace.next.append(index + 1 == count ? -1 : Int32(index + 1))
        }
        for index in 1..<count {
            pushPair(Int32(index - 1), Int32(index), &workspace)
        }
        while let bigram = workspace.heap.popFirst() {
            let left = Int(bigram.left)
            let right = Int(bigram.right)
            // Stale entries: one side was merged away or grew since the pair was queued.
            guard workspace.ids[left] == bigram.leftID, workspace.ids[right] == bigram.rightID,
                  workspace.next[left] == bigram.right
            else { continue }
            workspace.ids[left] = bigram.merged
            workspace.ids[right] = -2  // dead
            let after = workspace.next[right]
            workspace.next[left] = after
            if after >= 0 { workspace.previous[Int(after)] = Int32(left) }
            workspace.next[right] = -3
            let before = workspace.previous[left]
            if before >= 0 { pushPair(before, Int32(left), &workspace) }
            if after >= 0 { pushPair(Int32(left), after, &workspace) }
        }
        var index: Int32 = 0
        while index >= 0 {
            let id = workspace.ids[Int(index)]
            if id >= 0 { output.append(id) }
            index = workspace.next[Int(index)]
        }
    }

    /// BPE for a short word: the symbols and the rank of each adjacent pair sit in arrays; each
    /// step scans the ranks for the lowest (leftmost on ties), merges, and looks up only the two
    /// pairs the merge changed. O(n²) comparisons but O(n) hash lookups, faster than the queue for
    /// the short words that make up ordinary text.
    func encodeShort(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace: inout Workspace) {
        let none = UInt32.max
        var count = bytes.count
        workspace.ids.removeAll(keepingCapacity: true)
        workspace.pairRanks.removeAll(keepingCapacity: true)
        workspace.pairMerged.removeAll(keepingCapacity: true)
        for byte in bytes { workspace.ids.append(byteTokens[Int(byte)]) }
        for index in 0..<(count - 1) {
            if let found = merge(workspace.ids[index], workspace.ids[index + 1]) {
                workspace.pairRanks.append(found.rank)
                workspace.pairMerged.append(found.merged)
            } else {
                workspace.pairRanks.append(none)
                workspace.pairMerged.append(-1)
            }
        }
        workspace.ids.withUnsafeMutableBufferPointer { ids in
            workspace.pairRanks.withUnsafeMutableBufferPointer { ranks in
                workspace.pairMerged.withUnsafeMutableBufferPointer { merged in
                    while count > 1 {
                        var best = 0
                        var bestRank = ranks[0]
                        for index in 1..<(count - 1) where ranks[index] < bestRank {
                            best = index
                            bestRank = ranks[index]
                        }
                        if bestRank == none { break }
                        ids[best] = merged[best]
                        // Remove symbol best+1 and pair best+1 (the pair (best+1, best+2) is gone).
                        var index = best + 1
                        while index < count - 1 {
                            ids[index] = ids[index + 1]
                            index += 1
                        }
                        index = best + 1
                        while index < count - 2 {
                            ranks[index] = ranks[index + 1]
                            merged[index] = merged[index + 1]
                            index += 1
                        }
                        count -= 1
                        // Refresh the pairs on both sides of the merged symbol.
                        if best > 0 {
                            let found = merge(ids[best - 1], ids[best])
                            ranks[best - 1] = found?.rank ?? none
                            merged[best - 1] = found?.merged ?? -1
                        }
                        if best < count - 1 {
                            let found = merge(ids[best], ids[best + 1])
                            ranks[best] = found?.rank ?? none
                            merged[best] = found?.merged ?? -1
                        }
                    }
                }
            }
        }
        for index in 0..<count where workspace.ids[index] >= 0 {
            output.append(workspace.ids[index])
        }
    }

    /// The textbook merge loop — scan all adjacent pairs, merge the lowest-ranked (leftmost on
    /// ties), repeat — O(n²) per word. Gives the same tokens as ``encode(_:into:workspace:)``;
    /// kept as the benchmark baseline and a test oracle.
    func encodeReference(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        var ids = bytes.map { byteTokens[Int($0)] }
        while ids.count > 1 {
            var best: (rank: UInt32, index: Int, merged: Int32)?
            for index in 0..<(ids.count - 1) {
                if let found = merge(ids[index], ids[index + 1]), best == nil || found.rank < best!.rank {
                    best = (found.rank, index, found.merged)
                }
            }
            guard let best else { break }
            ids[best.index] = best.merged
            ids.remove(at: best.index + 1)
        }
        output.append(contentsOf: ids.filter { $0 >= 0 })
    }

    @inline(__always)
    private func pushPair(_ left: Int32, _ right: Int32, _ workspace: inout Workspace) {
        let leftID = workspace.ids[Int(left)]
        let rightID = workspace.ids[Int(right)]
        guard let found = merge(leftID, rightID) else { return }
        workspace.heap.insert(Bigram(
            key: UInt64(found.rank) << 32 | UInt64(UInt32(left)),
            left: left, right: right, leftID: leftID, rightID: rightID, merged: found.merged))
    }
}
