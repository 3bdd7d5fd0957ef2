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
        var heap = BigramHeap()
    }

    /// Appends the tokens of one pre-token (`bytes`, raw UTF-8) to `output`. Bytes without a token
    /// of their own that no merge absorbs are dropped, as llama.cpp does.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace: inout Workspace) {
        let count = bytes.count
        if count == 0 { return }
        if count == 1 {
            let id = byteTokens[Int(bytes[0])]
            if id >= 0 { output.append(id) }
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
        while let bigram = workspace.heap.popMin() {
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

/// A candidate merge of two adjacent symbols, ordered by `key` = rank then left position.
struct Bigram {
    var key: UInt64
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var merged: Int32
}

/// A binary min-heap of ``Bigram`` by `key`.
struct BigramHeap {
    private var items: [Bigram] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func insert(_ item: Bigram) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent].key <= items[child].key { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func popMin() -> Bigram? {
        guard let last = items.popLast() else { return nil }
        if items.isEmpty { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            var smallest = left
            if right < count && items[right].key < items[left].key { smallest = right }
            if items[parent].key <= items[smallest].key { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
