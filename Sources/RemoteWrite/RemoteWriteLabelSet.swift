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
/// the labels as `TimeSeries.labels` entries (``write(to:)``); their length there is computed
/// once, here.
///
/// Create one per series when its `series` record is read, and reuse it for every sample: the
/// encoder groups samples by the identity of this object.
public final class RemoteWriteLabelSet: Sendable, CustomStringConvertible {
    // 24 bytes of fields, 40 with the object's header: one of these lives for every series the
    // forwarder has read, so their size is memory per series (a malloc chunk of 48 bytes, where
    // 56 bytes of fields and header took 64).

    /// The labels in the WAL's encoding.
    let encodedLabels: EncodedLabels
    /// The series' slot in the request being encoded, or in an earlier one: ``WriteRequestEncoder``
    /// trusts it only when its own slot of that number holds this label set, so a stale or
    /// another encoder's slot costs a compare, never a wrong grouping.
    let requestSlot = Atomic<UInt32>(0)
    /// ``encodedLength`` less the bytes the label set keeps, plus one (it is at least -1), or
    /// `UInt16.max` when that does not fit and the length is worked out when asked for.
    private let lengthOverEncoding: UInt16
    /// The low 16 bits of the shard key's hash (``shardKey(of:)``).
    private let storedShardKey: UInt16

    /// The bytes the labels take as repeated `TimeSeries.labels` (field 1) entries.
    public var encodedLength: Int {
        @inline(__always) get {
            if _fastPath(lengthOverEncoding != .max) {
                return encodedLabels.byteCount + Int(lengthOverEncoding) - 1
            }
            return Self.protobufLength(of: encodedLabels)
        }
    }

    /// What decides the series' shard (`shardKey % shards`): 16 bits of xxhash64 of its
    /// `__name__`, `instance` and `job` values (``shardKey(of:)``). It depends on the labels alone
    /// (never on a WAL segment's refs), so a series keeps its shard across segments and restarts,
    /// and its samples leave in order.
    public var shardKey: UInt64 { UInt64(storedShardKey) }

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

    private init(_ encoded: EncodedLabels) {
        self.encodedLabels = encoded
        let over = Self.protobufLength(of: encoded) - encoded.byteCount + 1
        self.lengthOverEncoding = over >= 0 && over < Int(UInt16.max) ? UInt16(over) : .max
        self.storedShardKey = UInt16(truncatingIfNeeded: Self.shardKey(of: encoded))
    }

    /// The bytes `encoded` takes as repeated `TimeSeries.labels` entries.
    @inline(never)
    private static func protobufLength(of encoded: EncodedLabels) -> Int {
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
    public convenience init(_ encoded: EncodedLabels, externalLabels: [RemoteWriteLabel] = []) {
        if externalLabels.isEmpty, Self.isNormalized(encoded) {
            self.init(encoded)
        } else {
            self.init(
                encoded.labels.map { RemoteWriteLabel(name: $0.name, value: $0.value) },
                externalLabels: externalLabels)
        }
    }

    /// Normalizes a label set.
    public convenience init(_ labels: [RemoteWriteLabel], externalLabels: [RemoteWriteLabel] = []) {
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
        self.init(EncodedLabels(numbering: Labels(sorted: unique)))
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

    /// Writes the labels as `TimeSeries.labels` entries at `pointer` (``encodedLength`` bytes);
    /// returns the pointer past them.
    ///
    /// A `Label` message's body is the WAL's bytes for the label with a tag before each field:
    /// `0x0A`, the name's length and bytes (as the WAL has them), `0x12`, the value's length and
    /// bytes. So each label costs two copies and its message's length, no varint re-encoded; a
    /// numbered set (the registry's) reads each label's bytes from the label table.
    @inline(__always)
    func write(to pointer: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var out = UnsafeMutableRawPointer(pointer)
        // The bytes never move while `encodedLabels` is kept: read in place.
        encodedLabels.forEachLabel { label in
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
            (out + 1).copyMemory(from: label, byteCount: nameField)
            out += 1 + nameField
            out.storeBytes(of: ProtobufWire.tag(field: 2, wireType: .lengthDelimited), as: UInt8.self)
            (out + 1).copyMemory(from: value, byteCount: valueField)
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
    private static func labelMessageLength(name: Int, value: Int) -> Int {
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
