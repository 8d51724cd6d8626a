/// Tracks which input positions are fully sent: the low-water mark behind a durable cursor.
///
/// Positions are opaque, strictly increasing `UInt64`s given with each appended batch (a WAL
/// segment and offset packed together, for example). Each open position counts its samples not
/// yet settled (sent, or dropped and counted) plus one while its append is still in progress.
/// ``committed`` is the highest position at or below which every position has settled; it never
/// passes an open one, however far later positions have got.
public struct CommitTracker: Sendable, Hashable {
    private var open: [(position: UInt64, remaining: Int)] = []
    private var head = 0

    /// The highest position at or below which everything has settled, or `nil` before the first.
    public private(set) var committed: UInt64?
    /// The last position opened.
    public private(set) var lastOpened: UInt64?

    /// Creates a tracker; `committed` starts at `initial` (such as the stored cursor).
    public init(committed initial: UInt64? = nil) {
        self.committed = initial
        self.lastOpened = initial
    }

    /// Number of positions not yet settled.
    public var openCount: Int { self.open.count - self.head }

    /// Opens `position` with its append in progress.
    ///
    /// - Precondition: `position` is greater than every position opened before.
    public mutating func open(_ position: UInt64) {
        precondition(self.lastOpened.map { position > $0 } ?? true, "positions must increase: \(position)")
        self.open.append((position, 1))
        self.lastOpened = position
    }

    /// Adds `count` samples to the open `position`.
    public mutating func add(_ count: Int, to position: UInt64) {
        self.open[self.index(of: position)].remaining += count
    }

    /// Marks the append of `position` as finished; returns whether `committed` moved.
    @discardableResult
    public mutating func finishAppend(_ position: UInt64) -> Bool {
        self.settle(1, of: position)
    }

    /// Settles `count` samples of `position`; returns whether `committed` moved.
    @discardableResult
    public mutating func settle(_ count: Int, of position: UInt64) -> Bool {
        let index = self.index(of: position)
        self.open[index].remaining -= count
        precondition(self.open[index].remaining >= 0, "position \(position) settled more samples than it had")
        var moved = false
        while self.head < self.open.count, self.open[self.head].remaining == 0 {
            self.committed = self.open[self.head].position
            self.head += 1
            moved = true
        }
        if self.head > 64, self.head * 2 > self.open.count {
            self.open.removeFirst(self.head)
            self.head = 0
        }
        return moved
    }

    private func index(of position: UInt64) -> Int {
        var low = self.head
        var high = self.open.count
        while low < high {
            let middle = (low + high) / 2
            if self.open[middle].position < position { low = middle + 1 } else { high = middle }
        }
        precondition(low < self.open.count && self.open[low].position == position, "position \(position) is not open")
        return low
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.committed == rhs.committed && lhs.lastOpened == rhs.lastOpened
            && lhs.open[lhs.head...].elementsEqual(rhs.open[rhs.head...]) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.committed)
        hasher.combine(self.lastOpened)
        for entry in self.open[self.head...] {
            hasher.combine(entry.position)
            hasher.combine(entry.remaining)
        }
    }
}
