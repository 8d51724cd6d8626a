extension UnsafeMutableRawPointer {
    /// Copies `count` bytes from `source`, as `copyMemory(from:byteCount:)` does, without a call
    /// to `memcpy` for the short copies hot loops make (a label's name or value into a
    /// remote-write request: ten a sample, most of them 4 to 32 bytes, where the call and its
    /// size dispatch cost more than the copy). Up to 32 bytes are moved with two pairs of
    /// overlapping loads and stores that touch exactly the `count` bytes of each side; longer
    /// copies go to `memcpy`. The ranges must not overlap.
    @inlinable @inline(__always)
    public func copyShort(from source: UnsafeRawPointer, count: Int) {
        if count >= 8 {
            guard count <= 32 else {
                self.copyMemory(from: source, byteCount: count)
                return
            }
            // Up to 16 bytes: the first eight and the last eight, overlapping in the middle; up to
            // 32: the first sixteen and the last sixteen, the same way.
            if count <= 16 {
                let head = source.loadUnaligned(as: UInt64.self)
                let tail = source.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
                self.storeBytes(of: head, as: UInt64.self)
                self.storeBytes(of: tail, toByteOffset: count &- 8, as: UInt64.self)
            } else {
                let head0 = source.loadUnaligned(as: UInt64.self)
                let head1 = source.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let tail0 = source.loadUnaligned(fromByteOffset: count &- 16, as: UInt64.self)
                let tail1 = source.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
                self.storeBytes(of: head0, as: UInt64.self)
                self.storeBytes(of: head1, toByteOffset: 8, as: UInt64.self)
                self.storeBytes(of: tail0, toByteOffset: count &- 16, as: UInt64.self)
                self.storeBytes(of: tail1, toByteOffset: count &- 8, as: UInt64.self)
            }
        } else if count >= 4 {
            let head = source.loadUnaligned(as: UInt32.self)
            let tail = source.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
            self.storeBytes(of: head, as: UInt32.self)
            self.storeBytes(of: tail, toByteOffset: count &- 4, as: UInt32.self)
        } else if count > 0 {
            // One to three bytes: the first, the middle one (or the first again), the last.
            let first = source.load(as: UInt8.self)
            let middle = source.load(fromByteOffset: count &>> 1, as: UInt8.self)
            let last = source.load(fromByteOffset: count &- 1, as: UInt8.self)
            self.storeBytes(of: first, as: UInt8.self)
            self.storeBytes(of: middle, toByteOffset: count &>> 1, as: UInt8.self)
            self.storeBytes(of: last, toByteOffset: count &- 1, as: UInt8.self)
        }
    }
}
