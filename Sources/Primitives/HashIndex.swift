/// An open-addressing hash index over the caller's own arrays: it maps a hash to positions in
/// them, and the caller, who holds the keys, says which position matches. Two bytes a slot while
/// every position is below 32,767 (an index per scrape target's series), four after, and at most
/// three slots in four used, where a `Dictionary` keyed by the hash would spend sixteen bytes a
/// slot and keep the keys twice.
///
/// Linear probing; positions are never removed (the caller's arrays only grow).
public struct HashIndex: Sendable {
    /// Per slot: a position, or -1; while `wide` is empty.
    @usableFromInline var narrow: [Int16] = []
    /// Per slot: a position, or -1; once a position did not fit 16 bits.
    @usableFromInline var wide: [Int32] = []
    /// Positions held.
    public private(set) var count = 0

    public init() {}

    private var slotCount: Int { wide.isEmpty ? narrow.count : wide.count }

    /// Sizes the index for `count` positions in all without growing.
    public mutating func reserveCapacity(_ count: Int, rehash: (Int) -> UInt64) {
        let needed = Self.capacity(for: count)
        if needed > slotCount { resize(to: needed, wide: !wide.isEmpty, rehash: rehash) }
    }

    /// The first position with this hash that `matches`.
    @inlinable
    public func find(hash: UInt64, where matches: (Int) -> Bool) -> Int? {
        wide.isEmpty
            ? Self.find(hash: hash, in: narrow, where: matches) : Self.find(hash: hash, in: wide, where: matches)
    }

    @inlinable
    static func find<Slot: FixedWidthInteger>(hash: UInt64, in slots: [Slot], where matches: (Int) -> Bool) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let position = slots[slot]
            if position < 0 { return nil }
            if matches(Int(position)) { return Int(position) }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `position` under `hash`; `rehash` gives the hash of any position already held (the
    /// index grows by rehashing them all).
    public mutating func insert(_ position: Int, hash: UInt64, rehash: (Int) -> UInt64) {
        precondition(position >= 0 && position < Int(Int32.max), "a hash index holds positions below 2^31")
        let widen = wide.isEmpty && position >= Int(Int16.max)
        if widen || Self.capacity(for: count + 1) > slotCount {
            resize(
                to: Swift.max(Self.capacity(for: count + 1), slotCount), wide: widen || !wide.isEmpty, rehash: rehash)
        }
        place(position, hash: hash)
        count += 1
    }

    private mutating func place(_ position: Int, hash: UInt64) {
        if wide.isEmpty {
            Self.place(Int16(position), hash: hash, in: &narrow)
        } else {
            Self.place(Int32(position), hash: hash, in: &wide)
        }
    }

    private static func place<Slot: FixedWidthInteger>(_ position: Slot, hash: UInt64, in slots: inout [Slot]) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = position
    }

    private mutating func resize(to capacity: Int, wide makeWide: Bool, rehash: (Int) -> UInt64) {
        let held = wide.isEmpty ? narrow.filter { $0 >= 0 }.map(Int.init) : wide.filter { $0 >= 0 }.map(Int.init)
        if makeWide {
            narrow = []
            wide = [Int32](repeating: -1, count: capacity)
        } else {
            narrow = [Int16](repeating: -1, count: capacity)
        }
        for position in held { place(position, hash: rehash(position)) }
    }

    /// Slots (a power of two) for `count` positions with at most three slots in four used.
    private static func capacity(for count: Int) -> Int {
        var capacity = 8
        while capacity * 3 < count * 4 { capacity *= 2 }
        return capacity
    }

    /// A hash of an integer key (a ref) good enough for the low bits to pick a slot.
    @inlinable
    public static func hash(_ key: UInt64) -> UInt64 {
        var x = key &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return x
    }
}
