/// An element of a ``MergeQueue``: a candidate merge with a strict order (which merges first).
protocol MergeOrdered {
    /// Whether `self` merges before `other`.
    func precedes(_ other: Self) -> Bool
}

/// A candidate merge of two adjacent symbols (byte-level BPE), ordered by `key` = rank then left
/// position.
struct Bigram: MergeOrdered {
    var key: UInt64
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var merged: Int32

    @inline(__always)
    func precedes(_ other: Bigram) -> Bool { key < other.key }
}

/// A binary heap of candidate merges, the one that merges first (``MergeOrdered/precedes(_:)``)
/// on top: the priority queue of both ``BPEMerger`` and ``SentencePieceMerger``.
struct MergeQueue<Element: MergeOrdered> {
    private var items: [Element] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func insert(_ item: Element) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !items[child].precedes(items[parent]) { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    /// Removes and returns the element that merges first, nil when empty.
    mutating func popFirst() -> Element? {
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
            var first = left
            if right < count && items[right].precedes(items[left]) { first = right }
            if !items[first].precedes(items[parent]) { break }
            items.swapAt(parent, first)
            parent = first
        }
        return top
    }
}
