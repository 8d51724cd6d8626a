import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// A label set in the WAL's encoding (a varint count, then each name and value as a varint
/// length and its UTF-8 bytes; docs/wal-format.md), as a range of bytes that may hold other
/// things too: a `series` record's payload (copied once per record into a ``ByteChunk``, shared
/// by every series the record defines), or the series registry's own bytes, so that whoever
/// keeps a series' labels this way keeps no copy of them.
///
/// The registry's label sets are *numbered*: their bytes are the count, then the number of each
/// label in the process's ``LabelTable`` (a varint each), and each label's encoding is the table's.
/// Both forms read the same through ``forEach(_:)``, ``forEachLabel(_:)`` and
/// ``appendEncoding(to:)``.
public struct EncodedLabels: Sendable {
    /// The bytes the encoding is a range of: a raw allocation that never moves.
    @usableFromInline let storage: ByteChunk
    /// Where the bytes start in the storage (at the count), and end: 32 bits each, so that a label
    /// set keeping one stays small (storages are WAL records and registry chunks). The end's top
    /// bit says the set is numbered.
    @usableFromInline let bounds: (start: UInt32, end: UInt32)

    @inlinable static var numberedBit: UInt32 { 1 << 31 }

    var start: Int { Int(bounds.start) }
    var end: Int { Int(bounds.end & ~Self.numberedBit) }

    /// - Precondition: `storage`'s bytes `start..<end` hold one whole label encoding (as a decoder
    ///   checks it), or when `numbered`, a count and that many numbers the ``LabelTable`` gave;
    ///   `end` is below 2 GiB.
    init(_ storage: ByteChunk, start: Int, end: Int, numbered: Bool = false) {
        precondition(start <= end && end <= storage.count, "labels are encoded inside their storage")
        precondition(end < Int(Self.numberedBit), "label storage is below 2 GiB")
        self.storage = storage
        self.bounds = (UInt32(start), UInt32(end) | (numbered ? Self.numberedBit : 0))
    }

    /// The encoding of `labels`, in a buffer of its own.
    public init(_ labels: Labels) {
        var writer = ByteWriter(capacity: 16 * labels.count + 8)
        writer.labels(labels)
        self.init(copying: writer.bytes)
    }

    /// `labels` numbered in the process's ``LabelTable`` (adding the labels it does not hold yet), in
    /// a buffer of their own: a few bytes a label that many series share, where ``init(_:)`` copies
    /// them all. For a label set that lives as long as its series (a remote-write label set
    /// normalized apart from the registry's).
    public init(numbering labels: Labels) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 + 2 * labels.count)
        Varint.append(UInt64(labels.count), to: &bytes)
        LabelTable.shared.appendNumbers(of: labels, to: &bytes)
        self.init(bytes.withUnsafeBytes { ByteChunk(copying: $0) }, start: 0, end: bytes.count, numbered: true)
    }

    /// A label encoding copied out of `bytes` (which must hold one whole encoding, checked).
    init(copying bytes: [UInt8]) {
        self.init(bytes.withUnsafeBytes { ByteChunk(copying: $0) }, start: 0, end: bytes.count)
    }

    /// Whether the bytes are label numbers (a registry's set), not the labels' own encoding.
    @inlinable
    public var isNumbered: Bool { bounds.end & Self.numberedBit != 0 }

    /// How many bytes the set keeps (without touching them): the encoding, or for a numbered set
    /// the count and the numbers.
    @inlinable
    public var byteCount: Int { Int(bounds.end & ~Self.numberedBit) - Int(bounds.start) }

    /// The bytes the set keeps: the encoding, or for a numbered set the count and the numbers.
    /// They never move, and stay valid as long as this value or a copy of it lives: a holder may
    /// keep the buffer beside the value and read it without a closure.
    @inlinable
    public var storedBytes: UnsafeRawBufferPointer {
        storage.bytes(Int(bounds.start), Int(bounds.end & ~Self.numberedBit))
    }

    /// Calls `body` with the address of each label's encoding (its name's length, name, value's
    /// length, value), in order; `body` returns the address past that label. The addresses stay
    /// valid while this value lives (it does for the call: `self` is held by the caller).
    @inlinable @inline(__always)
    public func forEachLabel(_ body: (UnsafeRawPointer) -> UnsafeRawPointer) {
        forEachLabel(in: isNumbered ? .current : .unread, body)
    }

    /// ``forEachLabel(_:)`` with the label table's directory read by the caller: one that goes
    /// through many sets reads ``LabelDirectory/current`` once for all of them.
    @inlinable @inline(__always)
    public func forEachLabel(in directory: LabelDirectory, _ body: (UnsafeRawPointer) -> UnsafeRawPointer) {
        guard var cursor = storedBytes.baseAddress else { return }
        let count = Varint.readChecked(&cursor)
        if isNumbered {
            let pages = directory.pages.unsafelyUnwrapped
            for _ in 0..<count { _ = body(LabelTable.label(Varint.readChecked(&cursor), in: pages)) }
        } else {
            for _ in 0..<count { cursor = body(cursor) }
        }
    }

    /// Where the process's label table finds a label by its number. The table's pages are a
    /// global, and Swift checks that a global is initialized at every read: a caller that reads
    /// the labels of many numbered sets (the remote-write request writer, a set a sample) reads
    /// ``current`` once and hands it to ``forEachLabel(in:_:)``.
    public struct LabelDirectory {
        @usableFromInline let pages: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeRawPointer>?>?

        @usableFromInline init(pages: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeRawPointer>?>?) {
            self.pages = pages
        }

        /// The directory, for numbered sets.
        @inlinable public static var current: LabelDirectory { LabelDirectory(pages: LabelTable.directory) }
        /// None read: enough for sets that are not numbered.
        @inlinable public static var unread: LabelDirectory { LabelDirectory(pages: nil) }
    }

    /// Calls `body` with each label's name and value bytes, in order.
    public func forEach(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        forEachLabel { label in
            var cursor = label
            let nameLength = Varint.readChecked(&cursor)
            let name = UnsafeRawBufferPointer(start: cursor, count: nameLength)
            cursor += nameLength
            let valueLength = Varint.readChecked(&cursor)
            let value = UnsafeRawBufferPointer(start: cursor, count: valueLength)
            body(name, value)
            return cursor + valueLength
        }
    }

    /// Appends the WAL encoding of the labels to `bytes`: for a set that is not numbered, its bytes.
    public func appendEncoding(to bytes: inout [UInt8]) {
        // `self`, and with it the storage, is held by the caller for the call.
        guard isNumbered else {
            bytes.append(contentsOf: storedBytes)
            return
        }
        var cursor = storedBytes.baseAddress!
        Varint.append(UInt64(Varint.readChecked(&cursor)), to: &bytes)
        forEachLabel { label in
            let length = LabelTable.encodedLength(at: label)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: label, count: length))
            return label + length
        }
    }

    /// The WAL encoding of the labels.
    public var encoding: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(isNumbered ? 16 * byteCount : byteCount)
        appendEncoding(to: &bytes)
        return bytes
    }

    /// The labels, decoded.
    public var labels: Labels {
        var labels: [Label] = []
        forEach { name, value in
            labels.append(Label(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return Labels(sorted: labels)
    }

    /// Whether both hold the same labels. Two numbered sets do when their numbers are the same
    /// (a label has one number), two others when their bytes are (labels are sorted and unique, so
    /// equal label sets encode equally); across forms, the encodings are compared.
    public func encodesSameLabels(as other: EncodedLabels) -> Bool {
        if isNumbered == other.isNumbered {
            let mine = storedBytes
            let theirs = other.storedBytes
            return mine.count == theirs.count
                && (mine.isEmpty || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0)
        }
        return encoding == other.encoding
    }
}
