import Primitives
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every label (a name with its value) the process's series registries hold, each kept once and
/// numbered in the order first seen. A registry keeps a series as the numbers of its labels
/// (``EncodedLabels``, numbered form): a label is shared by many series (a target's `instance`
/// and `job` by all of its series, a family's `__name__` by all of its members), so a series
/// takes a byte or three a label instead of its name and value.
///
/// A label is kept in the WAL's encoding (its name's length as a varint, the name, its value's
/// length, the value) in chunks that never move, found by number through pages of addresses that
/// never move either: a reader given a number (inside a series' bytes, published under the lock
/// that guarded its registry) reads the label with no lock. Labels are never removed: like the
/// registry's refs, the numbers live as long as the process.
@usableFromInline
final class LabelTable: @unchecked Sendable {
    /// The one table of the process: numbers are only meaningful against the table that gave them,
    /// and one table lets a label set carry them without a reference to it.
    @usableFromInline static let shared = LabelTable()

    /// Addresses by number: a page holds `1 << pageBits` of them.
    @inlinable static var pageBits: Int { 12 }
    /// Pages the directory has room for: 2³¹ labels, the most a ``HashIndex`` numbers.
    static let pageLimit = 1 << (31 - pageBits)
    /// The bytes a chunk of labels holds (a larger label gets a chunk of its own).
    static let chunkSize = 1 << 16

    /// Page addresses by page number. Allocated whole and zeroed (the kernel backs only the part
    /// written), so it never moves; a global, so that a reader takes no reference to the table.
    /// Written under the table's lock, read with none (``label(_:)``).
    @usableFromInline nonisolated(unsafe) static let directory:
        UnsafeMutablePointer<UnsafeMutablePointer<UnsafeRawPointer>?> = {
            let raw = calloc(pageLimit, MemoryLayout<UnsafeMutablePointer<UnsafeRawPointer>?>.stride)!
            return raw.bindMemory(to: UnsafeMutablePointer<UnsafeRawPointer>?.self, capacity: pageLimit)
        }()

    private struct Interning: ~Copyable {
        var chunks: [ByteChunk] = []
        var index = HashIndex()
        var count = 0
        var scratch: [UInt8] = []
    }

    private let interning = Mutex(Interning())

    private init() {}

    /// How many labels the table holds.
    var count: Int { interning.withLock { $0.count } }

    /// The WAL encoding of label `number`, from its first byte.
    ///
    /// - Precondition: `number` was handed out by the table, to a caller that has published it to
    ///   this one through a lock or a queue.
    @inlinable @inline(__always)
    static func label(_ number: Int) -> UnsafeRawPointer { label(number, in: directory) }

    /// ``label(_:)`` with the directory read once by a caller that reads many labels.
    @inlinable @inline(__always)
    static func label(
        _ number: Int, in directory: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeRawPointer>?>
    ) -> UnsafeRawPointer {
        directory[number >> pageBits].unsafelyUnwrapped[number & (1 << pageBits - 1)]
    }

    /// Appends to `bytes` the number of each of `labels`, as varints, adding the labels not held
    /// yet.
    func appendNumbers(of labels: Labels, to bytes: inout [UInt8]) {
        interning.withLock { state in
            for label in labels {
                state.scratch.removeAll(keepingCapacity: true)
                Self.encode(label, into: &state.scratch)
                let encoded = state.scratch
                let number = encoded.withUnsafeBytes { (bytes) -> Int in self.number(of: bytes, in: &state) }
                Varint.append(UInt64(number), to: &bytes)
            }
        }
    }

    private static func encode(_ label: Label, into bytes: inout [UInt8]) {
        var name = label.name
        var value = label.value
        name.withUTF8 { utf8 in
            Varint.append(UInt64(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
        value.withUTF8 { utf8 in
            Varint.append(UInt64(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    /// The number of the label encoded as `encoded`, given the first time it is seen.
    private func number(of encoded: UnsafeRawBufferPointer, in state: inout Interning) -> Int {
        let hash = XXH64.hash(encoded)
        let found = state.index.find(hash: hash) { number in
            let held = Self.encodedLength(at: Self.label(number))
            return held == encoded.count && memcmp(Self.label(number), encoded.baseAddress!, held) == 0
        }
        if let found { return found }
        let number = state.count
        precondition(number < Int(Int32.max), "a label table holds fewer than 2^31 labels")
        if state.chunks.isEmpty
            || state.chunks[state.chunks.count - 1].count + encoded.count
                > state.chunks[state.chunks.count - 1].capacity
        {
            state.chunks.append(ByteChunk(capacity: Swift.max(Self.chunkSize, encoded.count)))
        }
        let chunk = state.chunks[state.chunks.count - 1]
        let address = UnsafeRawPointer(chunk.base + chunk.append(encoded))
        let page = number >> Self.pageBits
        if Self.directory[page] == nil {
            let addresses = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: 1 << Self.pageBits)
            Self.directory[page] = addresses
        }
        Self.directory[page].unsafelyUnwrapped[number & (1 << Self.pageBits - 1)] = address
        state.count += 1
        state.index.insert(number, hash: hash) { held in
            XXH64.hash(UnsafeRawBufferPointer(start: Self.label(held), count: Self.encodedLength(at: Self.label(held))))
        }
        return number
    }

    /// The bytes of the label encoded at `label`: two varint lengths and what they count.
    @inlinable @inline(__always)
    static func encodedLength(at label: UnsafeRawPointer) -> Int {
        var cursor = label
        let name = Varint.readChecked(&cursor)
        cursor += name
        let value = Varint.readChecked(&cursor)
        return cursor + value - label
    }
}
