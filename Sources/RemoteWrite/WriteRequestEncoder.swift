import Events
import Primitives
import Synchronization

/// Encodes `prometheus.WriteRequest` messages (remote write 1.0) into a reused byte buffer.
///
/// The encoder computes every nested length before writing, so each message is written once,
/// front to back, with no per-sample allocation: label sets know their encoded length
/// (``RemoteWriteLabelSet``), and the work arrays are kept between calls.
///
/// With ``groupsSamplesBySeries`` (the default) all samples of one series in a batch go into a
/// single `TimeSeries`, in the order appended; the spec allows several samples per series per
/// request, and a backlog then costs the labels once per request instead of once per sample.
/// Without it, every sample gets its own `TimeSeries`, as Prometheus's queue manager sends.
///
/// Wire format (field numbers from the remote write 1.0 spec):
/// `WriteRequest { repeated TimeSeries timeseries = 1; }`,
/// `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }`,
/// `Label { string name = 1; string value = 2; }`,
/// `Sample { double value = 1; int64 timestamp = 2; }`. As in proto3, a value whose bits are all
/// zero and a zero timestamp are omitted (`-0.0` is kept); metadata (field 3) is not sent.
public struct WriteRequestEncoder: Sendable {
    /// Whether samples of one series in a batch share one `TimeSeries`.
    public var groupsSamplesBySeries: Bool

    private var buffer: [UInt8] = []
    /// Number of valid bytes at the start of `buffer`.
    public private(set) var count = 0

    /// The label set entry of each slot: read only while the entries whose label sets keep them
    /// are being encoded (no reference count traffic per sample).
    private var slotSeries: [EntryAddress] = []

    /// A label set entry's address; meaningful only while the request is encoded (Sendable so
    /// that the encoder, whose arrays keep stale ones between requests, is).
    private struct EntryAddress: @unchecked Sendable, Equatable {
        let pointer: UnsafeMutablePointer<RemoteWriteLabelSetEntry>
    }
    private var slotOfEntry: [Int32] = []
    private var slotStart: [Int32] = []
    private var order: [Int32] = []
    private var slotLength: [Int] = []

    /// Creates an encoder.
    public init(groupsSamplesBySeries: Bool = true) {
        self.groupsSamplesBySeries = groupsSamplesBySeries
    }

    /// The bytes of the last encoded request.
    public var bytes: ArraySlice<UInt8> { self.buffer[0..<self.count] }

    /// Frees the request buffer and the work arrays, which the next request allocates again; the
    /// last request's bytes go with them. For an encoder that has gone idle: kept, they hold as
    /// much memory as the largest request encoded.
    public mutating func releaseBuffers() {
        self = WriteRequestEncoder(groupsSamplesBySeries: self.groupsSamplesBySeries)
    }

    /// Calls `body` with the bytes of the last encoded request.
    public func withEncodedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<self.count])) }
    }

    /// Encodes series given with plain labels (normalized on the way); convenient, not the fast path.
    public mutating func encode(_ series: [RemoteWriteSeries], externalLabels: [RemoteWriteLabel] = []) {
        var batch = RemoteWriteBatch(capacity: series.reduce(0) { $0 + $1.samples.count })
        for item in series {
            let labelSet = RemoteWriteLabelSet(item.labels, externalLabels: externalLabels)
            for sample in item.samples {
                batch.append(labelSet, timestamp: sample.timestamp, value: sample.value)
            }
        }
        self.encode(batch)
    }

    /// Encodes one request holding every sample of `batch`, replacing the previous request.
    public mutating func encode(_ batch: RemoteWriteBatch) {
        self.encode(entries: batch.entries)
    }

    /// Encodes one request holding every sample of `entries`, in order, replacing the previous request.
    public mutating func encode<Entries: RandomAccessCollection>(entries: Entries)
    where Entries.Element: RemoteWriteEntry, Entries.Index == Int {
        if self.groupsSamplesBySeries, entries.count <= RemoteWriteLabelSet.slotLimit {
            self.groupBySeries(entries)
        } else {
            self.slotSeries.removeAll(keepingCapacity: true)
            for entry in entries {
                self.slotSeries.append(EntryAddress(pointer: entry.series.entry))
            }
            Self.oneSlotPerEntry(&self.slotStart, &self.order, count: entries.count)
        }

        let first = entries.startIndex
        // First pass: the size of every TimeSeries, and of the whole request.
        var total = 0
        self.slotLength.removeAll(keepingCapacity: true)
        for slot in self.slotSeries.indices {
            let length = self.timeSeriesLength(slot: slot, entries: entries)
            self.slotLength.append(length)
            total += 1 + Varint.size(of: UInt64(length)) + length
        }
        if self.buffer.count < total {
            self.buffer = [UInt8](repeating: 0, count: max(total, self.buffer.count * 2))
        }

        // Second pass: write front to back.
        let directory = EncodedLabels.LabelDirectory.current
        let written = self.buffer.withUnsafeMutableBufferPointer { out in
            var pointer = out.baseAddress!
            for slot in self.slotSeries.indices {
                let length = self.slotLength[slot]
                pointer.pointee = ProtobufWire.tag(field: 1, wireType: .lengthDelimited)
                pointer = Varint.write(UInt64(length), at: pointer + 1)
                pointer = RemoteWriteLabelSet.write(
                    self.slotSeries[slot].pointer.pointee, to: pointer, directory: directory)
                for position in Int(self.slotStart[slot])..<Int(self.slotStart[slot + 1]) {
                    let entry = entries[first + Int(self.order[position])]
                    pointer = Self.writeSample(value: entry.value, timestamp: entry.timestamp, at: pointer)
                }
            }
            return pointer - out.baseAddress!
        }
        precondition(written == total, "WriteRequest size \(written) differs from the computed \(total)")
        self.count = total
    }

    /// Orders entries by series (first appearance), keeping append order within a series: fills
    /// `slotSeries`, `slotStart` (each slot's first position in `order`, then the end) and `order`.
    /// When no series repeats (one sample per series, what a request usually holds), `order` is
    /// the identity and the counting sort is skipped.
    ///
    /// The work arrays leave `self` while they are filled, and are written through buffer
    /// pointers: a write to a stored array checks its uniqueness each time, and those checks
    /// were most of this function's cost (callgrind, docs/performance.md).
    private mutating func groupBySeries<Entries: RandomAccessCollection>(_ entries: Entries)
    where Entries.Element: RemoteWriteEntry, Entries.Index == Int {
        let count = entries.count
        var slotSeries = self.slotSeries
        var slotStart = self.slotStart
        var slotOfEntry = self.slotOfEntry
        var order = self.order
        (self.slotSeries, self.slotStart, self.slotOfEntry, self.order) = ([], [], [], [])
        defer {
            (self.slotSeries, self.slotStart, self.slotOfEntry, self.order) = (
                slotSeries, slotStart, slotOfEntry, order
            )
        }
        slotSeries.removeAll(keepingCapacity: true)
        slotSeries.reserveCapacity(count)
        Self.grow(&slotStart, to: count + 1)
        Self.grow(&slotOfEntry, to: count)
        Self.grow(&order, to: count)

        // Each label set remembers its slot, which is taken only when this request's slot of that
        // number holds the same label set: no table to hash into, and a slot left from an earlier
        // request, or written by another encoder at the same time, is never taken for this one's.
        var repeated = false
        slotStart.withUnsafeMutableBufferPointer { starts in
            slotOfEntry.withUnsafeMutableBufferPointer { slotOf in
                for index in 0..<count {
                    // The entry alone: the entries keep every label set's page while the request
                    // is encoded.
                    let series = entries[entries.startIndex + index].series.entry
                    let remembered = Int(series.pointee.requestSlot.load(ordering: .relaxed))
                    let slot: Int
                    if remembered < slotSeries.count, slotSeries[remembered].pointer == series {
                        slot = remembered
                        starts[slot] += 1
                        repeated = true
                    } else {
                        slot = slotSeries.count
                        series.pointee.requestSlot.store(UInt32(truncatingIfNeeded: slot), ordering: .relaxed)
                        slotSeries.append(EntryAddress(pointer: series))
                        starts[slot] = 1
                    }
                    slotOf[index] = Int32(truncatingIfNeeded: slot)
                }
            }
        }
        guard repeated else {
            Self.oneSlotPerEntry(&slotStart, &order, count: count)
            return
        }
        let slots = slotSeries.count
        slotStart.withUnsafeMutableBufferPointer { starts in
            order.withUnsafeMutableBufferPointer { ordered in
                // Counts to start offsets (exclusive prefix sum).
                var running: Int32 = 0
                for slot in 0..<slots {
                    let samples = starts[slot]
                    starts[slot] = running
                    running += samples
                }
                // Counting-sort scatter: each slot's start advances to its end, which is the next
                // slot's start; shifting by one restores the starts.
                slotOfEntry.withUnsafeBufferPointer { slotOf in
                    for index in 0..<count {
                        let slot = Int(slotOf[index])
                        ordered[Int(starts[slot])] = Int32(truncatingIfNeeded: index)
                        starts[slot] += 1
                    }
                }
                for slot in stride(from: slots, to: 0, by: -1) {
                    starts[slot] = starts[slot - 1]
                }
                starts[0] = 0
            }
        }
    }

    /// Slot `i` holds entry `i` alone: `starts` 0, 1, …, `count`, and `order` the identity.
    private static func oneSlotPerEntry(_ starts: inout [Int32], _ order: inout [Int32], count: Int) {
        grow(&starts, to: count + 1)
        grow(&order, to: count)
        starts.withUnsafeMutableBufferPointer { starts in
            order.withUnsafeMutableBufferPointer { order in
                for index in 0..<count {
                    starts[index] = Int32(truncatingIfNeeded: index)
                    order[index] = Int32(truncatingIfNeeded: index)
                }
                starts[count] = Int32(truncatingIfNeeded: count)
            }
        }
    }

    /// Makes `array` at least `count` long (the new elements are zero; the caller overwrites them).
    private static func grow<Element: FixedWidthInteger>(_ array: inout [Element], to count: Int) {
        if array.count < count {
            array.append(contentsOf: repeatElement(0, count: count - array.count))
        }
    }

    @inline(__always)
    private func timeSeriesLength<Entries: RandomAccessCollection>(slot: Int, entries: Entries) -> Int
    where Entries.Element: RemoteWriteEntry, Entries.Index == Int {
        var length = self.slotSeries[slot].pointer.pointee.encodedLength
        for position in Int(self.slotStart[slot])..<Int(self.slotStart[slot + 1]) {
            let entry = entries[entries.startIndex + Int(self.order[position])]
            length += 2 + Self.sampleBodyLength(value: entry.value, timestamp: entry.timestamp)
        }
        return length
    }

    @inline(__always)
    private static func sampleBodyLength(value: Double, timestamp: Int64) -> Int {
        let valueLength = value.bitPattern == 0 ? 0 : 9
        let timestampLength = timestamp == 0 ? 0 : 1 + Varint.size(of: UInt64(bitPattern: timestamp))
        return valueLength + timestampLength
    }

    /// Writes one `TimeSeries.samples` entry (tag, one-byte length, body).
    @inline(__always)
    private static func writeSample(value: Double, timestamp: Int64, at start: UnsafeMutablePointer<UInt8>)
        -> UnsafeMutablePointer<UInt8>
    {
        var pointer = start
        pointer[0] = ProtobufWire.tag(field: 2, wireType: .lengthDelimited)
        // A Sample body is at most 9 + 11 bytes, so its length always fits one varint byte.
        pointer[1] = UInt8(Self.sampleBodyLength(value: value, timestamp: timestamp))
        pointer += 2
        let bits = value.bitPattern
        if bits != 0 {
            pointer.pointee = ProtobufWire.tag(field: 1, wireType: .fixed64)
            UnsafeMutableRawPointer(pointer + 1).storeBytes(of: bits.littleEndian, as: UInt64.self)
            pointer += 9
        }
        if timestamp != 0 {
            pointer.pointee = ProtobufWire.tag(field: 2, wireType: .varint)
            pointer = Varint.write(UInt64(bitPattern: timestamp), at: pointer + 1)
        }
        return pointer
    }
}

/// A sample as ``WriteRequestEncoder`` reads it.
public protocol RemoteWriteEntry {
    /// The series the sample belongs to.
    var series: RemoteWriteLabelSet { get }
    /// Milliseconds since the Unix epoch.
    var timestamp: Int64 { get }
    /// The value, sent bit-exact.
    var value: Double { get }
}

extension RemoteWriteBatch.Entry: RemoteWriteEntry {}
