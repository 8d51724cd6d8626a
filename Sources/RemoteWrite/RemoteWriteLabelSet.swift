import Events
import Primitives
import Synchronization

/// The label set of one series, normalized as remote write requires and encoded once.
///
/// Normalization follows Prometheus's queue manager: external labels are added unless the series
/// already has a label of that name (the series' value wins); labels with an empty value are
/// dropped (an empty value means "absent" in Prometheus, and the spec forbids sending one); names
/// are sorted; of repeated names the first one given is kept. The result is pre-encoded as the
/// `labels` fields of a `prometheus.TimeSeries`, so a sample costs only its own bytes to encode.
///
/// Create one per series when its `series` record is read, and reuse it for every sample: the
/// encoder groups samples by the identity of this object.
///
/// Only the encoding is kept (one per series for as long as the series is forwarded): `labels`
/// is decoded from it when asked for.
public final class RemoteWriteLabelSet: Sendable, CustomStringConvertible {
    /// The protobuf encoding of `labels` as repeated `TimeSeries.labels` (field 1) entries.
    public let encoded: [UInt8]
    /// xxhash64 of `encoded`: the series' identity for sharding. It depends on the labels
    /// alone (never on a WAL segment's refs), so a series keeps its shard across segments
    /// and restarts, and its samples leave in order.
    public let shardKey: UInt64
    /// Where the series sits in the request being encoded: the request's number above
    /// ``slotBits``, the slot below (``WriteRequestEncoder`` groups a series' samples with it).
    let requestSlot = Atomic<UInt64>(0)
    /// Bits of ``requestSlot`` that hold the slot: a request has fewer than 2^24 series.
    static let slotBits: UInt64 = 24
    static let slotMask: UInt64 = (1 << slotBits) - 1

    /// The normalized labels, sorted by name (decoded from `encoded`).
    public var labels: [RemoteWriteLabel] {
        var labels: [RemoteWriteLabel] = []
        var index = 0
        func varint() -> Int {
            // `encoded` is this type's own encoding: every varint in it is whole.
            guard case .value(let value) = Varint.read(encoded, at: &index, end: encoded.count) else {
                preconditionFailure("a label set's own encoding holds a broken varint at \(index)")
            }
            return Int(value)
        }
        func string() -> String {
            index += 1  // the field's tag
            let length = varint()
            defer { index += length }
            return String(decoding: encoded[index..<(index + length)], as: UTF8.self)
        }
        while index < encoded.count {
            index += 1  // the Label message's tag
            _ = varint()  // its length
            let name = string()
            labels.append(RemoteWriteLabel(name: name, value: string()))
        }
        return labels
    }

    /// Normalizes and encodes a label set.
    public init(_ labels: [RemoteWriteLabel], externalLabels: [RemoteWriteLabel] = []) {
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
        var unique: [RemoteWriteLabel] = []
        unique.reserveCapacity(sorted.count)
        for label in sorted where unique.last?.name != label.name {
            unique.append(label)
        }
        // The exact size first: the encoding is kept as long as the series is forwarded, so
        // it gets no spare capacity from growing as it is written.
        var size = 0
        for label in unique {
            let message = Self.labelMessageLength(label)
            size += 1 + Varint.size(of: UInt64(message)) + message
        }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(size)
        for label in unique {
            let nameLength = label.name.utf8.count
            let valueLength = label.value.utf8.count
            let messageLength = Self.labelMessageLength(label)
            encoded.append(ProtobufWire.tag(field: 1, wireType: .lengthDelimited))
            Varint.append(UInt64(messageLength), to: &encoded)
            encoded.append(ProtobufWire.tag(field: 1, wireType: .lengthDelimited))
            Varint.append(UInt64(nameLength), to: &encoded)
            encoded.append(contentsOf: label.name.utf8)
            encoded.append(ProtobufWire.tag(field: 2, wireType: .lengthDelimited))
            Varint.append(UInt64(valueLength), to: &encoded)
            encoded.append(contentsOf: label.value.utf8)
        }
        self.encoded = encoded
        self.shardKey = TargetKey.hash(encoded)
    }

    /// The value of the label `name`, if present.
    public subscript(name: String) -> String? {
        self.labels.first { $0.name == name }?.value
    }

    public var description: String {
        "{" + self.labels.map(\.description).joined(separator: ", ") + "}"
    }

    /// The length of one `Label` message's body.
    private static func labelMessageLength(_ label: RemoteWriteLabel) -> Int {
        let nameLength = label.name.utf8.count
        let valueLength = label.value.utf8.count
        return 1 + Varint.size(of: UInt64(nameLength)) + nameLength + 1 + Varint.size(of: UInt64(valueLength))
            + valueLength
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
