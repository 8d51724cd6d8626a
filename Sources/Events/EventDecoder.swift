import Primitives
import WAL

/// A series as a `series` record defines it: its ref in the segment, and its labels' encoding.
public struct SeriesEncoding: Sendable {
    public let ref: UInt64
    public let labels: EncodedLabels
}

/// Decodes the records of the log back into events. It must see a segment's
/// records in order from the segment's start, or from a checkpoint with the
/// series defined before it (see `EventReader.init(directory:segment:seekingTo:)`);
/// it resets at every new segment.
///
/// Per-series state lives in arrays indexed by ref (refs are dense: the writer
/// hands them out from zero), so a sample costs no hashing.
public struct EventDecoder {
    public private(set) var segment = -1
    /// The refs defined in the current segment.
    private var defined = RefFlags()
    /// Decoded labels; nil for a series defined lazily whose labels nobody asked for yet, or
    /// handed over. This array and `lazySource` grow only when a series is defined with labels or
    /// lazily: a decoder that hands every definition over (the forwarder's) keeps neither, 16
    /// bytes a series less. A ref past their end has neither labels nor a lazy source.
    private var labelsByRef: [Labels?] = []
    /// Series records read by a seek: their labels are decoded when first asked for.
    private var lazyPayloads: [[UInt8]] = []
    /// For a lazily defined ref: the index of its payload in `lazyPayloads` (high 24 bits)
    /// and the offset of its labels there (low 40 bits).
    private var lazySource: [UInt64] = []
    /// Each defined series' previous value (bit pattern), 0.0 at its definition and at checkpoints.
    private var previous: [UInt64] = []
    /// Each target's ref list as its last samples record listed it, 4 bytes a ref (refs are below
    /// ``refLimit``).
    private var lastRefs: [UInt64: [UInt32]] = [:]
    /// Series whose value chain broke (a record holding their samples was lost, or they were
    /// never defined): their samples are left out until the next checkpoint or segment.
    private var broken: Set<UInt64> = []
    /// Every chain broke: a record that may have held any series' samples was lost.
    private var allBroken = false
    /// The bytes of the last route decoded, and the route.
    private var lastRouteBytes: [UInt8] = []
    private var lastRoute: [String] = []

    /// Samples left out so far because their series' value chain was broken or their series
    /// was never defined in the segment (see ``recordLost(in:)``).
    public private(set) var lostSamples = 0

    /// Refs at or above this (67 M series) are taken for corruption: per-ref state is sized
    /// by the largest ref, so a damaged ref must not ask for gigabytes.
    static let refLimit: UInt64 = 1 << 26

    public init() {}

    /// The labels of `ref` as defined in the current segment. Labels of a series defined
    /// lazily are decoded on the first call and kept, unless `keep` is false (for a caller
    /// that asks once per series and keeps what it needs itself).
    public mutating func labels(for ref: UInt64, keep: Bool = true) -> Labels? {
        guard isDefined(ref), Int(ref) < labelsByRef.count else { return nil }
        if let labels = labelsByRef[Int(ref)] { return labels }
        let source = lazySource[Int(ref)]
        guard source != Self.handedOver else { return nil }
        var reader = ByteReader(lazyPayloads[Int(source >> 40)])
        reader.index = Int(source & (1 << 40 - 1))
        // `defineLazily` has checked the structure already; decoding the strings cannot fail.
        let labels = try? reader.labels()
        if keep { labelsByRef[Int(ref)] = labels }
        return labels
    }

    /// The WAL encoding of `ref`'s labels as defined in the current segment: for a series
    /// defined lazily, a copy of its labels' bytes from the `series` record (no decoding).
    public func encodedLabels(for ref: UInt64) -> EncodedLabels? {
        guard isDefined(ref), Int(ref) < labelsByRef.count else { return nil }
        if let labels = labelsByRef[Int(ref)] { return EncodedLabels(labels) }
        let source = lazySource[Int(ref)]
        guard source != Self.handedOver else { return nil }
        let payload = lazyPayloads[Int(source >> 40)]
        var reader = ByteReader(payload)
        reader.index = Int(source & (1 << 40 - 1))
        let start = reader.index
        // `defineLazily` has checked the structure already.
        guard (try? reader.skipLabels()) != nil else { return nil }
        return EncodedLabels(copying: Array(payload[start..<reader.index]))
    }

    /// Tells the decoder that a record of `segment` before the next one it sees was lost (the
    /// WAL skipped damage): it may have held any series' samples, a series definition or a
    /// checkpoint, so every value chain is broken until the next checkpoint, and samples until
    /// then are left out and counted in ``lostSamples`` rather than decoded against a wrong
    /// previous value.
    public mutating func recordLost(in segment: Int) {
        enter(segment: segment)
        allBroken = true
    }

    /// Applies what `record` does to the decoder's state without making an event: what a
    /// reader does with the records between a seek point and the position it was asked for.
    mutating func advance(_ record: StoredRecord) throws(EventError) {
        switch EventKind(rawValue: record.type) {
        case .series:
            try defineLazily(record)
        case .samples, .checkpoint:
            _ = try decode(record, skippingSamplesBefore: .max)
        default:
            enter(segment: record.position.segment)
        }
    }

    /// Defines the series of a `series` record without decoding their labels yet: a seek
    /// reads every definition before its checkpoint, but a replay needs few of them soon.
    mutating func defineLazily(_ record: StoredRecord) throws(EventError) {
        enter(segment: record.position.segment)
        let payloadIndex = UInt64(lazyPayloads.count)
        // Kept before the definitions are read: when one fails, the series defined before it
        // stay defined (as `decode` leaves them), and their labels are in this payload.
        lazyPayloads.append(record.payload)
        try defineEach(record) { ref, labels in payloadIndex << 40 | UInt64(labels.lowerBound) }
    }

    /// The `lazySource` of a series whose definition was handed over, not kept.
    private static let handedOver = UInt64.max

    /// Defines the series of a `series` record and hands their definitions to `body`, each as a
    /// range of the record's payload, keeping none of it: ``labels(for:)`` answers nil for these
    /// refs afterwards. For a follower that takes what it needs of a series when it is defined.
    /// When the record fails to decode part way, the series defined before the failure are
    /// handed over (they stay defined) before the error is thrown.
    mutating func define(_ record: StoredRecord, handingOver body: ([SeriesEncoding]) -> Void) throws(EventError) {
        enter(segment: record.position.segment)
        var definitions: [SeriesEncoding] = []
        defer { body(definitions) }
        let payload = record.payload.withUnsafeBytes { ByteChunk(copying: $0) }
        try defineEach(record) { ref, labels in
            definitions.append(
                SeriesEncoding(
                    ref: ref, labels: EncodedLabels(payload, start: labels.lowerBound, end: labels.upperBound)))
            return Self.handedOver
        }
    }

    /// Defines each series of a `series` record, its `lazySource` what `source` gives for its
    /// ref and the range of its labels in the payload. The series before a failure stay defined.
    private mutating func defineEach(
        _ record: StoredRecord, source: (_ ref: UInt64, _ labels: Range<Int>) -> UInt64
    ) throws(EventError) {
        var reader = ByteReader(record.payload)
        do throws(EventDecodeError) {
            while !reader.isAtEnd {
                let ref = try reader.varint()
                guard ref < Self.refLimit else { throw reader.error("series ref \(ref) is implausibly large") }
                let offset = reader.index
                try reader.skipLabels()
                define(ref, nil, source: source(ref, offset..<reader.index))
            }
        } catch {
            throw EventError(position: record.position, kind: .series, underlying: error)
        }
    }

    @inline(__always)
    private func isDefined(_ ref: UInt64) -> Bool {
        defined.contains(Int(ref))
    }

    /// Decodes `record`; a failure names the record's position.
    public mutating func decode(_ record: StoredRecord) throws(EventError) -> Event {
        // Without a bound nothing is skipped, so there is always an event.
        try decode(record, skippingSamplesBefore: nil)!
    }

    /// Like `decode(_:)`, but a `samples` record whose samples are all older than `time`
    /// only advances the decoder's state and returns nil: no arrays are built for it.
    public mutating func decode(_ record: StoredRecord, skippingSamplesBefore time: Int64?) throws(EventError)
        -> Event?
    {
        enter(segment: record.position.segment)
        do {
            return try decode(type: record.type, payload: record.payload, skippingBefore: time)
        } catch {
            throw EventError(position: record.position, kind: EventKind(rawValue: record.type), underlying: error)
        }
    }

    /// Forgets the state of the previous segment when `segment` is a new one.
    mutating func enter(segment: Int) {
        guard segment != self.segment else { return }
        self.segment = segment
        defined.removeAll()
        lastRefs.removeAll(keepingCapacity: true)
        lazyPayloads.removeAll()
        broken.removeAll()
        allBroken = false
    }

    private mutating func decode(type: UInt8, payload: [UInt8], skippingBefore time: Int64?)
        throws(EventDecodeError) -> Event?
    {
        guard let kind = EventKind(rawValue: type) else {
            throw EventDecodeError(offset: 0, message: "unknown record type \(type)")
        }
        switch kind {
        case .series:
            return .series(try decodeSeries(payload))
        case .samples:
            return try decodeSamples(payload, skippingBefore: time).map { .samples($0) }
        case .targets:
            return .targets(try EventCodec.decodeTargets(payload))
        case .membership:
            return .membership(try EventCodec.decodeMembership(payload))
        case .ownership:
            return .ownership(try EventCodec.decodeOwnership(payload))
        case .checkpoint:
            let checkpoint = try EventCodec.decodeCheckpoint(payload)
            restartValues()
            return .checkpoint(checkpoint)
        }
    }

    /// What a checkpoint does: every series' value chain and every target's ref list start over.
    private mutating func restartValues() {
        previous.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        lastRefs.removeAll(keepingCapacity: true)
        broken.removeAll()
        allBroken = false
    }

    private mutating func decodeSeries(_ payload: [UInt8]) throws(EventDecodeError) -> [SeriesDefinition] {
        var reader = ByteReader(payload)
        var definitions: [SeriesDefinition] = []
        while !reader.isAtEnd {
            let ref = try reader.varint()
            guard ref < Self.refLimit else { throw reader.error("series ref \(ref) is implausibly large") }
            let set = try reader.labels()
            define(ref, set)
            definitions.append(SeriesDefinition(ref: ref, labels: set))
        }
        return definitions
    }

    private mutating func define(_ ref: UInt64, _ labels: Labels?, source: UInt64 = EventDecoder.handedOver) {
        let index = Int(ref)
        makeRoom(for: index)
        defined.insert(index)
        if labels != nil || source != Self.handedOver {
            makeLabelRoom(for: index)
        }
        if index < labelsByRef.count {
            labelsByRef[index] = labels
            lazySource[index] = source
        }
        previous[index] = 0
        // A definition starts the series' chain afresh.
        if !broken.isEmpty { broken.remove(ref) }
    }

    /// Grows the per-ref arrays every series needs to hold `index`.
    private mutating func makeRoom(for index: Int) {
        previous.extend(to: index + 1, with: 0)
    }

    /// Grows `labelsByRef` and `lazySource` to hold `index`; the refs they did not reach were
    /// handed over or never defined, which is what nil labels and `handedOver` say.
    private mutating func makeLabelRoom(for index: Int) {
        guard index >= labelsByRef.count else { return }
        let grown = Swift.max(index + 1, previous.count)
        labelsByRef.extend(to: grown, with: nil)
        lazySource.extend(to: grown, with: Self.handedOver)
    }

    /// Decodes a samples record. One that does not decode breaks the value chains it may have
    /// touched (its series', or every series' when its ref list is unknown) before throwing;
    /// samples of series that are broken or were never defined are left out and counted.
    private mutating func decodeSamples(_ payload: [UInt8], skippingBefore time: Int64?)
        throws(EventDecodeError) -> SampleBatch?
    {
        var refs: [UInt64]?
        do {
            return try decodeSamples(payload, skippingBefore: time, refs: &refs)
        } catch {
            if let refs { broken.formUnion(refs) } else { allBroken = true }
            throw error
        }
    }

    private mutating func decodeSamples(
        _ payload: [UInt8], skippingBefore time: Int64?, refs decodedRefs: inout [UInt64]?
    ) throws(EventDecodeError) -> SampleBatch? {
        var reader = ByteReader(payload)
        let (flags, target, timestamp, count, routeBytes) = try reader.samplesHeader()
        let route = routeBytes.map { self.route(payload, at: $0, reader: reader) }
        let refs: [UInt64]
        if flags & 2 != 0 {
            guard let last = lastRefs[target], last.count == count else {
                if allBroken {
                    // The record that listed these refs was lost with the chains: no error of this one.
                    if let time, timestamp < time, flags & 1 == 0 { return nil }  // Before the window anyway.
                    lostSamples += count
                    return SampleBatch(target: target, timestamp: timestamp, refs: [], values: [], route: route)
                }
                throw reader.error("samples reuse the refs of a previous record that this segment lacks")
            }
            refs = last.map { UInt64($0) }
        } else {
            var list: [UInt64] = []
            list.reserveCapacity(Swift.min(count, payload.count))
            var last: UInt64 = 0
            for _ in 0..<count {
                last = last &+ UInt64(bitPattern: try reader.zigzag())
                guard last < Self.refLimit else { throw reader.error("sample ref \(last) is implausibly large") }
                if !isDefined(last) {
                    // Its definition was lost (or never written): decode past its value, leave it out.
                    makeRoom(for: Int(last))
                    broken.insert(last)
                }
                list.append(last)
            }
            lastRefs[target] = list.map { UInt32(truncatingIfNeeded: $0) }
            refs = list
        }
        decodedRefs = refs
        var timestamps: [Int64]?
        if flags & 1 != 0 {
            var list: [Int64] = []
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(timestamp &+ (try reader.zigzag())) }
            timestamps = list
        }
        let skip = time.map { time in (timestamps?.max() ?? timestamp) < time } ?? false
        let start = reader.index
        var end = start
        let values = try [Double](unsafeUninitializedCapacity: skip ? 0 : count) {
            (buffer, initialized) throws(EventDecodeError) in
            end = try refs.withUnsafeBufferPointer { (refs) throws(EventDecodeError) in
                try previous.withUnsafeMutableBufferPointer { (previous) throws(EventDecodeError) in
                    try payload.withUnsafeBufferPointer { (bytes) throws(EventDecodeError) in
                        try ValueCoding.decode(
                            refs, previous: previous.baseAddress!, from: bytes, at: start,
                            into: skip ? nil : buffer.baseAddress)
                    }
                }
            }
            initialized = skip ? 0 : count
        }
        reader.index = end
        guard reader.isAtEnd else { throw reader.error("\(payload.count - reader.index) trailing bytes") }
        // Skipped: no values were decoded (and no batch can be made), whatever chains are broken.
        if skip { return nil }
        let batch = SampleBatch(
            target: target, timestamp: timestamp, refs: refs, values: values, timestamps: timestamps, route: route)
        return allBroken || !broken.isEmpty ? leavingOutBroken(batch) : batch
    }

    /// `batch` without the samples of broken series, which are counted in `lostSamples`.
    private mutating func leavingOutBroken(_ batch: SampleBatch) -> SampleBatch {
        var kept: [Int] = []
        if !allBroken {
            kept.reserveCapacity(batch.refs.count)
            for index in batch.refs.indices where !broken.contains(batch.refs[index]) { kept.append(index) }
        }
        lostSamples += batch.refs.count - kept.count
        return SampleBatch(
            target: batch.target, timestamp: batch.timestamp, refs: kept.map { batch.refs[$0] },
            values: kept.map { batch.values[$0] }, timestamps: batch.timestamps.map { list in kept.map { list[$0] } },
            route: batch.route)
    }

    /// The route whose bytes lie at `range` of `payload`: the previous record's when the bytes are
    /// the same (they nearly always are), so a record costs a comparison, not an array of strings.
    private mutating func route(_ payload: [UInt8], at range: Range<Int>, reader: ByteReader) -> [String] {
        if lastRouteBytes.elementsEqual(payload[range]) { return lastRoute }
        lastRouteBytes = Array(payload[range])
        lastRoute = reader.route(in: range)
        return lastRoute
    }
}

/// A record that is intact on disk (its checksum matched) but does not decode as an event.
public struct EventError: Error, Sendable, CustomStringConvertible {
    public var position: Position
    public var kind: EventKind?
    public var underlying: EventDecodeError

    public var description: String {
        "\(position): \(kind.map { "\($0) record" } ?? "record"): \(underlying)"
    }
}

/// What a record says about the log without the decoder's per-segment state: enough for
/// the segment index and the histories, so the projector can start at any record.
public enum RecordSummary: Sendable, Equatable {
    case series
    /// A samples record: how many samples and the oldest and newest of their timestamps
    /// (nil when it holds none).
    case samples(count: Int, oldest: Int64?, newest: Int64?)
    case checkpoint
    /// A targets, membership or ownership event: these carry no state between records.
    case event(Event)

    /// Summarizes `record`; a payload that does not decode throws with its position.
    public static func of(_ record: StoredRecord) throws(EventError) -> RecordSummary {
        do throws(EventDecodeError) {
            switch EventKind(rawValue: record.type) {
            case .series: return .series
            case .checkpoint: return .checkpoint
            case .samples: return try samples(record.payload)
            case .targets: return .event(.targets(try EventCodec.decodeTargets(record.payload)))
            case .membership: return .event(.membership(try EventCodec.decodeMembership(record.payload)))
            case .ownership: return .event(.ownership(try EventCodec.decodeOwnership(record.payload)))
            case nil: throw EventDecodeError(offset: 0, message: "unknown record type \(record.type)")
            }
        } catch {
            throw EventError(position: record.position, kind: EventKind(rawValue: record.type), underlying: error)
        }
    }

    /// The header of a samples record, and its per-sample timestamps when it has them.
    private static func samples(_ payload: [UInt8]) throws(EventDecodeError) -> RecordSummary {
        var reader = ByteReader(payload)
        let (flags, _, timestamp, count, _) = try reader.samplesHeader()
        guard count > 0 else { return .samples(count: 0, oldest: nil, newest: nil) }
        guard flags & 1 != 0 else { return .samples(count: count, oldest: timestamp, newest: timestamp) }
        if flags & 2 == 0 {
            for _ in 0..<count { _ = try reader.zigzag() }
        }
        var oldest = Int64.max
        var newest = Int64.min
        for _ in 0..<count {
            let own = timestamp &+ (try reader.zigzag())
            oldest = Swift.min(oldest, own)
            newest = Swift.max(newest, own)
        }
        return .samples(count: count, oldest: oldest, newest: newest)
    }
}
