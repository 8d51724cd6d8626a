import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// Assigns dense series refs (0, 1, 2, …) to label sets, for the lifetime of the
/// process. Refs are not stable across restarts, and need not be: every segment
/// defines the refs it uses.
///
/// A series is kept numbered: its label count, then the number of each of its labels in the
/// process's ``LabelTable`` (a varint each), which keeps every label once. Labels are sorted and
/// unique and a label has one number, so equal label sets have equal bytes. The bytes lie end to
/// end in chunks of ``chunkSize`` bytes that never move (a remote-write label set keeps a range of
/// one rather than a copy), found by ref through two small arrays and by content through a
/// ``HashIndex``. What a `series` record holds, the labels' own encoding, is made from them when
/// one is written (``appendEncoding(_:to:)``).
struct SeriesRegistry {
    /// The most bytes a chunk holds (a larger set gets a chunk of its own).
    static let chunkSize = 1 << 20

    private var chunks: [ByteChunk] = []
    /// By ref: the chunk (high 24 bits) and offset in it (low 40 bits) of the numbered bytes.
    private var locations: [UInt64] = []
    /// By ref: the numbered bytes' length.
    private var lengths: [UInt32] = []
    /// Refs by the XXH64 of their numbered bytes.
    private var index = HashIndex()
    /// Where a label set's numbers are put together.
    private var scratch: [UInt8] = []

    var count: Int { locations.count }

    mutating func ref(for labels: Labels) -> UInt64 {
        scratch.removeAll(keepingCapacity: true)
        Varint.append(UInt64(labels.count), to: &scratch)
        LabelTable.shared.appendNumbers(of: labels, to: &scratch)
        let numbers = scratch
        return numbers.withUnsafeBytes { bytes in
            let hash = XXH64.hash(bytes)
            if let ref = index.find(hash: hash, where: { self.numbers($0, equal: bytes) }) {
                return UInt64(ref)
            }
            let ref = locations.count
            store(bytes)
            // Taken out while it grows: growing reads the bytes of the refs it holds.
            var index = self.index
            self.index = HashIndex()
            index.insert(ref, hash: hash) { ref in XXH64.hash(encodedLabels(UInt64(ref)).storedBytes) }
            self.index = index
            return UInt64(ref)
        }
    }

    private mutating func store(_ bytes: UnsafeRawBufferPointer) {
        if chunks.isEmpty || chunks[chunks.count - 1].count + bytes.count > chunks[chunks.count - 1].capacity {
            chunks.append(ByteChunk(capacity: Swift.max(Self.chunkSize, bytes.count)))
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].append(bytes)
        locations.append(UInt64(chunk) << 40 | UInt64(offset))
        lengths.append(UInt32(bytes.count))
    }

    private func numbers(_ ref: Int, equal bytes: UnsafeRawBufferPointer) -> Bool {
        guard Int(lengths[ref]) == bytes.count else { return false }
        let held = encodedLabels(UInt64(ref))
        return withExtendedLifetime(held) {
            memcmp(held.storedBytes.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        }
    }

    /// Appends the labels of `ref` in their own encoding (a `series` record's) to `bytes`.
    ///
    /// - Precondition: `ref` was handed out by this registry.
    func appendEncoding(_ ref: UInt64, to bytes: inout [UInt8]) {
        encodedLabels(ref).appendEncoding(to: &bytes)
    }

    /// The labels of `ref`, numbered: a range of the registry's own bytes, which never move.
    ///
    /// - Precondition: `ref` was handed out by this registry.
    func encodedLabels(_ ref: UInt64) -> EncodedLabels {
        let location = locations[Int(ref)]
        let offset = Int(location & (1 << 40 - 1))
        return EncodedLabels(
            chunks[Int(location >> 40)], start: offset, end: offset + Int(lengths[Int(ref)]), numbered: true)
    }

    /// The labels of `ref`, decoded.
    func labels(_ ref: UInt64) -> Labels? {
        guard ref < UInt64(locations.count) else { return nil }
        return encodedLabels(ref).labels
    }
}
