/// Assigns dense series refs (0, 1, 2, …) to label sets, for the lifetime of the
/// process. Refs are not stable across restarts, and need not be: every segment
/// defines the refs it uses.
///
/// A series is kept as its labels' encoding in a `series` record (labels are sorted
/// and unique, so equal label sets encode equally): that is what the encoder writes,
/// and it takes about a third of the memory of a `Labels` value.
struct SeriesRegistry {
    private var refs: [[UInt8]: UInt64] = [:]
    /// By ref: the encoded labels.
    private(set) var encoded: [[UInt8]] = []

    mutating func ref(for labels: Labels) -> UInt64 {
        var writer = ByteWriter(capacity: 128)
        writer.labels(labels)
        if let ref = refs[writer.bytes] { return ref }
        // Kept for the process's life: an exact copy, not the writer's roomier buffer.
        let count = writer.bytes.count
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = buffer.initialize(from: writer.bytes)
            initialized = count
        }
        let ref = UInt64(encoded.count)
        refs[bytes] = ref
        encoded.append(bytes)
        return ref
    }

    /// The labels of `ref`, decoded.
    func labels(_ ref: UInt64) -> Labels? {
        guard ref < UInt64(encoded.count) else { return nil }
        var reader = ByteReader(encoded[Int(ref)])
        return try? reader.labels()
    }

    var count: Int { encoded.count }
}
