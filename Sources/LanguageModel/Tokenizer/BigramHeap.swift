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
