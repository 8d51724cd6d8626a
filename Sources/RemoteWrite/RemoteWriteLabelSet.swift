import Events
import Primitives
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The label set of one series, normalized as remote write requires.
///
/// Normalization follows Prometheus's queue manager: external labels are added unless the series
/// already has a label of that name (the series' value wins); labels with an empty value are
/// dropped (an empty value means "absent" in Prometheus, and the spec forbids sending one); names
/// are sorted; of repeated names the first one given is kept.
///
/// The labels are kept as an ``EncodedLabels``, and a label set made from a series record that
/// needs no change keeps a range of bytes others hold too: the series registry's numbers of its
/// labels in the process's label table (``EventLog/sharedLabels(_:in:)``), or the record's payload
/// (one copy for every series the record defines, for segments of an earlier process). One that
/// needs a change is numbered in the label table too, in a buffer of its own. The encoder writes
/// the labels as `TimeSeries.labels` entries (``write(_:to:)``); their length there is computed
/// once, here.
///
/// A label set is an entry of a page of them (``RemoteWriteLabelSets``: 24 bytes each, 4,096 to a
/// page) that this value refers to and keeps alive: a reader of the WAL makes one per series when
/// its `series` record is read, where an object apiece took a 48-byte allocation and a pointer.
/// Copies refer to the same entry, and the encoder groups samples by it.
public struct RemoteWriteLabelSet: @unchecked Sendable, CustomStringConvertible {
    // Sendable: the entry is written once, before any copy of this value exists, and read only
    // after (its request slot is atomic); the page it lies in lives as long as a copy does.

    /// The page that holds the entry.
    let page: RemoteWriteLabelSetPage
    /// The entry, inside `page`.
    let entry: UnsafeMutablePointer<RemoteWriteLabelSetEntry>

    init(page: RemoteWriteLabelSetPage, entry: UnsafeMutablePointer<RemoteWriteLabelSetEntry>) {
        self.page = page
        self.entry = entry
    }

    /// The labels in the WAL's encoding.
    var encodedLabels: EncodedLabels { entry.pointee.encodedLabels }

    /// The bytes the labels take as repeated `TimeSeries.labels` (field 1) entries.
    public var encodedLength: Int { entry.pointee.encodedLength }

    /// What decides the series' shard (`shardKey % shards`): 16 bits of xxhash64 of its
    /// `__name__`, `instance` and `job` values (``shardKey(of:)``). It depends on the labels alone
    /// (never on a WAL segment's refs), so a series keeps its shard across segments and restarts,
    /// and its samples leave in order.
    public var shardKey: UInt64 { UInt64(entry.pointee.storedShardKey) }

    /// Whether two values refer to the same label set (the same entry), not only equal labels.
    public func isSameSet(as other: RemoteWriteLabelSet) -> Bool { entry == other.entry }

    /// The most samples a request grouped by series may have: the encoder keeps slots and
    /// positions in 32-bit integers.
    static let slotLimit = Int(Int32.max) - 1

    /// The normalized labels, sorted by name.
    public var labels: [RemoteWriteLabel] {
        var labels: [RemoteWriteLabel] = []
        encodedLabels.forEach { name, value in
            labels.append(
                RemoteWriteLabel(
                    name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        return labels
    }

    /// The bytes `encoded` takes as repeated `TimeSeries.labels` entries.
    @inline(never)
    static func protobufLength(of encoded: EncodedLabels) -> Int {
        var length = 0
        encoded.forEach { name, value in
            let message = Self.labelMessageLength(name: name.count, value: value.count)
            length += 1 + Varint.size(of: UInt64(message)) + message
        }
        return length
    }

    /// The labels that make a series' shard key: its metric family on its target.
    static let shardKeyNames: [[UInt8]] = ["__name__", "instance", "job"].map { Array($0.utf8) }

    /// xxhash64 of the `__name__`, `instance` and `job` values, each followed by 0xFF (a byte no
    /// UTF-8 text holds; an absent label hashes as empty).
    ///
    /// A family's series from one target arrive together (the exposition format keeps a family's
    /// lines together) and now go to one shard together, so a request holds runs of similar
    /// series that snappy compresses against each other. Hashing every label scattered each run
    /// over all shards: 1.3 more bytes per sample on the benchmark load (19.98 against 18.72 for
    /// Prometheus, whose single shard keeps the scrape's order; docs/performance.md). The
    /// price: one family of one target rides one shard, so a single family far larger than the
    /// rest loads one shard more than the others.
    static func shardKey(of encoded: EncodedLabels) -> UInt64 {
        var key: [UInt8] = []
        for wanted in shardKeyNames {
            encoded.forEach { name, value in
                if name.elementsEqual(wanted) { key.append(contentsOf: value) }
            }
            key.append(0xFF)
        }
        return TargetKey.hash(key)
    }

    /// The label set of a series as the WAL encodes it. Labels that are already normalized (the
    /// WAL's are sorted and unique; only empty values and external labels change them) are
    /// shared, not copied; others are normalized into a buffer of their own.
    /// (In a page of its own: a reader of many series makes them in ``RemoteWriteLabelSets``.)
    public init(_ encoded: EncodedLabels, externalLabels: [RemoteWriteLabel] = []) {
        let sets = RemoteWriteLabelSets(externalLabels: externalLabels, alone: true)
        self = sets[sets.add(encoded)]
    }

    /// Normalizes a label set (in a page of its own).
    public init(_ labels: [RemoteWriteLabel], externalLabels: [RemoteWriteLabel] = []) {
        let sets = RemoteWriteLabelSets(externalLabels: externalLabels, alone: true)
        self = sets[sets.add(labels)]
    }

    /// `encoded` as remote write sends it: itself when it needs no change (no external labels,
    /// already normalized), else normalized and numbered in a buffer of its own.
    static func normalized(_ encoded: EncodedLabels, externalLabels: [RemoteWriteLabel]) -> EncodedLabels {
        if externalLabels.isEmpty, isNormalized(encoded) { return encoded }
        return normalized(
            encoded.labels.map { RemoteWriteLabel(name: $0.name, value: $0.value) }, externalLabels: externalLabels)
    }

    /// `labels` normalized, numbered in a buffer of their own.
    static func normalized(_ labels: [RemoteWriteLabel], externalLabels: [RemoteWriteLabel]) -> EncodedLabels {
        var merged = labels.filter { !$0.value.isEmpty }
        for external in externalLabels where !external.value.isEmpty {
            if !merged.contains(where: { $0.name == external.name }) {
                merged.append(external)
            }
        }
        // Sort by name on the UTF-8 bytes (Go's string order); stable, so the first duplicate wins.
        let sorted = merged.enumerated().sorted { lhs, rhs in
            let order = Self.compareUTF8(lhs.element.name, rhs.element.name)
            return order != 0 ? order < 0 : lhs.offset < rhs.offset
        }.map(\.element)
        var unique: [Label] = []
        unique.reserveCapacity(sorted.count)
        for label in sorted where unique.last?.name != label.name {
            unique.append(Label(label.name, label.value))
        }
        return EncodedLabels(numbering: Labels(sorted: unique))
    }

    /// Whether `encoded` needs no normalization: names strictly increasing as bytes, no empty value.
    private static func isNormalized(_ encoded: EncodedLabels) -> Bool {
        var normalized = true
        var previous: UnsafeRawBufferPointer? = nil
        encoded.forEach { name, value in
            if value.isEmpty { normalized = false }
            if let previous, compare(previous, name) >= 0 { normalized = false }
            previous = name
        }
        return normalized
    }

    private static func compare(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
        let common = min(lhs.count, rhs.count)
        if common > 0 {
            let order = memcmp(lhs.baseAddress!, rhs.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return lhs.count - rhs.count
    }

    /// Writes the labels of `entry` as `TimeSeries.labels` entries at `pointer` (its
    /// ``RemoteWriteLabelSetEntry/encodedLength`` bytes); returns the pointer past them.
    ///
    /// A `Label` message's body is the WAL's bytes for the label with a tag before each field:
    /// `0x0A`, the name's length and bytes (as the WAL has them), `0x12`, the value's length and
    /// bytes. So each label costs two copies and its message's length, no varint re-encoded; a
    /// numbered set (the registry's) reads each label's bytes from the label table, through
    /// `directory` (``EncodedLabels/LabelDirectory/current``, read once by the caller).
    @inline(__always)
    static func write(
        _ entry: borrowing RemoteWriteLabelSetEntry, to pointer: UnsafeMutablePointer<UInt8>,
        directory: EncodedLabels.LabelDirectory
    ) -> UnsafeMutablePointer<UInt8> {
        var out = UnsafeMutableRawPointer(pointer)
        // The bytes never move while the entry is kept: read in place.
        entry.encodedLabels.forEachLabel(in: directory) { label in
            var source = label
            let nameLength = Varint.readChecked(&source)
            source += nameLength
            let nameField = source - label
            let value = source
            let valueLength = Varint.readChecked(&source)
            source += valueLength
            let valueField = source - value
            out.storeBytes(of: ProtobufWire.tag(field: 1, wireType: .lengthDelimited), as: UInt8.self)
            out = Self.writeLength(2 + nameField + valueField, at: out + 1)
            out.storeBytes(of: ProtobufWire.tag(field: 1, wireType: .lengthDelimited), as: UInt8.self)
            (out + 1).copyShort(from: label, count: nameField)
            out += 1 + nameField
            out.storeBytes(of: ProtobufWire.tag(field: 2, wireType: .lengthDelimited), as: UInt8.self)
            (out + 1).copyShort(from: value, count: valueField)
            out += 1 + valueField
            return source
        }
        return out.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    private static func writeLength(_ length: Int, at out: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        if length < 0x80 {
            out.storeBytes(of: UInt8(length), as: UInt8.self)
            return out + 1
        }
        let end = Varint.write(UInt64(length), at: out.assumingMemoryBound(to: UInt8.self))
        return UnsafeMutableRawPointer(end)
    }

    /// The value of the label `name`, if present.
    public subscript(name: String) -> String? {
        self.labels.first { $0.name == name }?.value
    }

    public var description: String {
        "{" + self.labels.map(\.description).joined(separator: ", ") + "}"
    }

    /// The length of one `Label` message's body.
    @inline(__always)
    static func labelMessageLength(name: Int, value: Int) -> Int {
        1 + Varint.size(of: UInt64(name)) + name + 1 + Varint.size(of: UInt64(value)) + value
    }

    private static func compareUTF8(_ lhs: String, _ rhs: String) -> Int {
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let l?, let r?) where l != r: return l < r ? -1 : 1
            default: continue
            }
        }
    }
}

/// What a label set keeps, 24 bytes in a page of them: its labels, the length they take in a
/// request, its shard key and its slot in the request being encoded.
struct RemoteWriteLabelSetEntry: ~Copyable {
    /// The labels in the WAL's encoding.
    let encodedLabels: EncodedLabels
    /// The series' slot in the request being encoded, or in an earlier one: ``WriteRequestEncoder``
    /// trusts it only when its own slot of that number holds this entry, so a stale or another
    /// encoder's slot costs a compare, never a wrong grouping.
    let requestSlot = Atomic<UInt32>(0)
    /// ``encodedLength`` less the bytes the label set keeps, plus one (it is at least -1), or
    /// `UInt16.max` when that does not fit and the length is worked out when asked for.
    let lengthOverEncoding: UInt16
    /// The low 16 bits of the shard key's hash (``RemoteWriteLabelSet/shardKey(of:)``).
    let storedShardKey: UInt16

    init(_ encoded: EncodedLabels) {
        self.encodedLabels = encoded
        let over = RemoteWriteLabelSet.protobufLength(of: encoded) - encoded.byteCount + 1
        self.lengthOverEncoding = over >= 0 && over < Int(UInt16.max) ? UInt16(over) : .max
        self.storedShardKey = UInt16(truncatingIfNeeded: RemoteWriteLabelSet.shardKey(of: encoded))
    }

    /// The bytes the labels take as repeated `TimeSeries.labels` (field 1) entries.
    var encodedLength: Int {
        @inline(__always) get {
            if _fastPath(lengthOverEncoding != .max) {
                return encodedLabels.byteCount + Int(lengthOverEncoding) - 1
            }
            return RemoteWriteLabelSet.protobufLength(of: encodedLabels)
        }
    }
}

/// Entries of label sets, allocated together and never moved: a label set refers to its page,
/// which lives as long as any label set of it does.
final class RemoteWriteLabelSetPage: @unchecked Sendable {
    // Sendable: entries are only appended, by the page's one owner (``RemoteWriteLabelSets``),
    // each before any label set refers to it; `count` is read by the owner and `deinit` alone.
    let entries: UnsafeMutablePointer<RemoteWriteLabelSetEntry>
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        self.entries = .allocate(capacity: capacity)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
    }

    /// Appends an entry for `encoded`, which must fit; returns it.
    func append(_ encoded: EncodedLabels) -> UnsafeMutablePointer<RemoteWriteLabelSetEntry> {
        precondition(count < capacity, "a label set page is never written past its capacity")
        let entry = entries + count
        entry.initialize(to: RemoteWriteLabelSetEntry(encoded))
        count += 1
        return entry
    }
}

/// Label sets made by one reader of the WAL for one queue (its external labels), numbered from
/// 0 in the order made, and kept in pages of ``pageSize``: a label set made here costs its 24-byte
/// entry, where one made alone costs a page of its own. The reader keeps the numbers (4 bytes a
/// series) and makes a ``RemoteWriteLabelSet`` from one for each sample (``subscript(_:)``).
///
/// A page lives while this object or any label set of it does: drop the object to let go of
/// label sets no longer wanted (a WAL segment's, when the next starts). One owner makes label
/// sets here (it is not `Sendable`); the label sets go anywhere.
public final class RemoteWriteLabelSets {
    /// Entries a page holds: 96 KiB.
    public static let pageSize = 1 << pageShift
    private static let pageShift = 12

    public let externalLabels: [RemoteWriteLabel]
    /// log2 of the entries a page of these holds: ``pageShift``, or 0 for a label set alone.
    private let shift: Int
    private var pageCapacity: Int { 1 << shift }
    /// Read for every sample forwarded (``subscript(_:)``), by the one task that also adds to
    /// them: unchecked, as no access overlaps another, which spares each read the runtime's
    /// exclusivity bookkeeping (about 1 % of the agent's CPU at 100,000 samples/s).
    @exclusivity(unchecked) private var pages: [RemoteWriteLabelSetPage] = []

    /// How many label sets were made.
    public private(set) var count = 0

    /// An empty set of label sets whose labels get `externalLabels`.
    public convenience init(externalLabels: [RemoteWriteLabel] = []) {
        self.init(externalLabels: externalLabels, alone: false)
    }

    /// `alone`: pages of one entry, for a label set made by itself.
    init(externalLabels: [RemoteWriteLabel], alone: Bool) {
        self.externalLabels = externalLabels
        self.shift = alone ? 0 : Self.pageShift
    }

    /// Makes the label set of labels in the WAL's encoding (sharing them when they need no
    /// change); returns its number.
    public func add(_ encoded: EncodedLabels) -> Int {
        append(RemoteWriteLabelSet.normalized(encoded, externalLabels: externalLabels))
    }

    /// Makes the label set of `labels`, normalized; returns its number.
    public func add(_ labels: [RemoteWriteLabel]) -> Int {
        append(RemoteWriteLabelSet.normalized(labels, externalLabels: externalLabels))
    }

    private func append(_ normalized: EncodedLabels) -> Int {
        if pages.isEmpty || pages[pages.count - 1].count == pageCapacity {
            pages.append(RemoteWriteLabelSetPage(capacity: pageCapacity))
        }
        _ = pages[pages.count - 1].append(normalized)
        count += 1
        return count - 1
    }

    /// The label set numbered `number`.
    @inline(__always)
    public subscript(number: Int) -> RemoteWriteLabelSet {
        let page = pages[number >> shift]
        return RemoteWriteLabelSet(page: page, entry: page.entries + (number & (pageCapacity - 1)))
    }
}
