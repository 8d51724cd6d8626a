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
/// one rather than a copy), found by ref through 4 bytes each (a chunk and an offset; the bytes
/// say where they end) and by content through a ``HashIndex``. What a `series` record holds, the
/// labels' own encoding, is made from them when one is written (``appendEncoding(_:to:)``).
struct SeriesRegistry {
    /// The most bytes a chunk holds (a larger set gets a chunk of its own).
    static let chunkSize = 1 << 20

    private var chunks: [ByteChunk] = []
    /// By ref: the chunk (high 12 bits) and offset in it (low 20 bits) of the numbered bytes. A
    /// set larger than a chunk gets one of its own, at offset 0.
    private var locations: [UInt32] = []
    /// The most chunks ``locations`` can tell apart: 4 GiB of numbered label sets, hundreds of
    /// millions of series (each costs the process more than a hundred bytes besides).
    static let chunkLimit = 1 << 12
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
            precondition(chunks.count < Self.chunkLimit, "the series registry holds at most 4 GiB of label sets")
            chunks.append(ByteChunk(capacity: Swift.max(Self.chunkSize, bytes.count)))
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].append(bytes)
        // An eighth more room at a time, not double: the array lives as long as the process.
        locations.appendGrowingByAnEighth(UInt32(chunk) << 20 | UInt32(offset))
    }

    private func numbers(_ ref: Int, equal bytes: UnsafeRawBufferPointer) -> Bool {
        let held = encodedLabels(UInt64(ref))
        guard held.byteCount == bytes.count else { return false }
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
        let chunk = chunks[Int(location >> 20)]
        let start = Int(location & (1 << 20 - 1))
        // The count, then that many numbers: a varint each.
        var cursor = UnsafeRawPointer(chunk.base + start)
        let count = Varint.readChecked(&cursor)
        for _ in 0..<count { _ = Varint.readChecked(&cursor) }
        return EncodedLabels(chunk, start: start, end: cursor - UnsafeRawPointer(chunk.base), numbered: true)
    }

    /// The labels of `ref`, decoded.
    func labels(_ ref: UInt64) -> Labels? {
        guard ref < UInt64(locations.count) else { return nil }
        return encodedLabels(ref).labels
    }
}
