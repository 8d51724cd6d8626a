/// Bytes appended to a buffer of fixed capacity that never moves, so that a range already
/// written can be read, shared by reference, while the owner appends behind it.
///
/// The owner appends under its own lock; a reader is given ranges written before it took
/// that lock, and reads only those: no byte is written and read at once.
@usableFromInline
final class ByteChunk: @unchecked Sendable {
    let capacity: Int
    /// Bytes written so far (changed by the owner only).
    private(set) var count = 0
    @usableFromInline let base: UnsafeMutableRawPointer

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    /// A chunk holding a copy of `bytes`, exactly.
    convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        _ = append(bytes)
    }

    deinit { base.deallocate() }

    /// Appends `bytes`; returns where they start.
    ///
    /// - Precondition: they fit.
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        precondition(count + bytes.count <= capacity, "a chunk is never written past its capacity")
        let start = count
        if let source = bytes.baseAddress { (base + start).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
        return start
    }

    /// The bytes `start..<end`, written before.
    @inlinable
    func bytes(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: end - start)
    }
}
