/// One flag per ref, a bit each, all clear to begin with: per-series state of one bit where an
/// epoch number per ref (compared with the current one, so that nothing needs clearing) took 32.
/// Clearing them all is a memset of an eighth of a byte per ref.
public struct RefFlags: Sendable {
    @usableFromInline var words: [UInt64] = []

    public init() {}

    /// Whether the flag of `index` is set (never, for an index no flag was set at or beyond).
    @inlinable
    public func contains(_ index: Int) -> Bool {
        let word = index >> 6
        return word < words.count && words[word] & (1 << UInt64(index & 63)) != 0
    }

    /// Sets the flag of `index`.
    @inlinable
    public mutating func insert(_ index: Int) {
        let word = index >> 6
        if word >= words.count { words.extend(to: word + 1, with: 0) }
        words[word] |= 1 << UInt64(index & 63)
    }

    /// Clears every flag, keeping the storage.
    public mutating func removeAll() {
        words.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
