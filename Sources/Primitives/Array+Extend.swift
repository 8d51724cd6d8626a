extension Array {
    /// Appends `value` until the array holds `count` elements (nothing when it holds as many
    /// already), growing its storage to an eighth more than that, where an append doubles it.
    ///
    /// For arrays of per-series state indexed by ref: they grow with the process's series and
    /// are never shrunk, so doubling would leave up to half of them unused for good (at a million
    /// series, megabytes each). Growing by an eighth copies each element about eight times over
    /// the array's life instead of twice.
    @inlinable
    public mutating func extend(to count: Int, with value: Element) {
        guard count > self.count else { return }
        if count > capacity { reserveCapacity(count + count / 8) }
        append(contentsOf: repeatElement(value, count: count - self.count))
    }

    /// Appends `element`, growing full storage by an eighth (and 64 elements), where `append`
    /// doubles it: for the same long-lived arrays as ``extend(to:with:)``, grown one at a time.
    @inlinable
    public mutating func appendGrowingByAnEighth(_ element: Element) {
        if count == capacity { reserveCapacity(count + count / 8 + 64) }
        append(element)
    }
}
