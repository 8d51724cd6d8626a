import Primitives
import WAL

/// Encoding state for series and samples inside one segment: which refs the
/// segment has defined, each series' previous value, each target's previous ref
/// list. `reset()` at every new segment keeps segments self-contained; a
/// checkpoint every so many bytes of samples lets a reader start inside a segment.
struct SegmentEncoder {
    /// The fewest bytes of encoded (uncompressed) samples between two checkpoints.
    let checkpointInterval: Int
    /// A checkpoint costs each series one value coded from scratch (a few bytes more
    /// than a delta): keeping this many bytes per defined series between checkpoints
    /// holds their cost near 1 % of the log however many series there are.
    static let checkpointBytesPerSeries = 160
    /// Series defined in the current segment.
    private var definedCount = 0
    /// Samples bytes since the segment's start or its last checkpoint.
    private var sinceCheckpoint = 0
    /// The newest sample timestamp in the segment so far.
    private var newest: Int64?
    /// The refs defined in the current segment.
    private var defined = RefFlags()
    private var previous: [UInt64] = []
    /// Each target's ref list as its last samples record listed it, 4 bytes a ref (refs stay far
    /// below 2³²: a reader takes any from 2²⁶ for damage, ``EventDecoder``); a ref that did not
    /// fit would only never compare equal, costing the record its list.
    private var lastRefs: [UInt64: [UInt32]] = [:]
    private var scratch: [UInt8] = []

    init(checkpointInterval: Int) {
        precondition(checkpointInterval > 0, "the checkpoint interval must be positive")
        self.checkpointInterval = checkpointInterval
    }

    mutating func reset() {
        sinceCheckpoint = 0
        definedCount = 0
        newest = nil
        defined.removeAll()
        lastRefs.removeAll(keepingCapacity: true)
    }

    /// The records for one scrape: a checkpoint when one is due, a series record for
    /// refs the segment has not defined yet (if any), then the samples record.
    mutating func encode(_ batch: SampleBatch, registry: SeriesRegistry) -> [Record] {
        var records: [Record] = []
        let due = Swift.max(checkpointInterval, definedCount * Self.checkpointBytesPerSeries)
        if sinceCheckpoint >= due, let newest {
            records.append(EventCodec.encode(Checkpoint(newestBefore: newest)))
            previous.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            lastRefs.removeAll(keepingCapacity: true)
            sinceCheckpoint = 0
        }
        let needed = registry.count
        previous.extend(to: needed, with: 0)
        var series = ByteWriter()
        var newlyDefined = 0
        for ref in batch.refs where !defined.contains(Int(ref)) {
            defined.insert(Int(ref))
            previous[Int(ref)] = 0
            series.varint(ref)
            registry.appendEncoding(ref, to: &series.bytes)
            newlyDefined += 1
        }
        definedCount += newlyDefined
        if newlyDefined > 0 { records.append(Record(type: EventKind.series.rawValue, payload: series.bytes)) }

        scratch.removeAll(keepingCapacity: true)
        let sameRefs = lastRefs[batch.target].map { Self.equal($0, batch.refs) } ?? false
        var flags: UInt8 = 0
        if batch.timestamps != nil { flags |= 1 }
        if sameRefs { flags |= 2 }
        if batch.route != nil { flags |= 4 }
        scratch.append(flags)
        withUnsafeBytes(of: batch.target.littleEndian) { scratch.append(contentsOf: $0) }
        appendZigzag(batch.timestamp)
        appendVarint(UInt64(batch.count))
        if let route = batch.route {
            appendVarint(UInt64(route.count))
            for receiver in route {
                appendVarint(UInt64(receiver.utf8.count))
                scratch.append(contentsOf: receiver.utf8)
            }
        }
        if !sameRefs {
            var last: UInt64 = 0
            for ref in batch.refs {
                appendZigzag(Int64(bitPattern: ref &- last))
                last = ref
            }
            lastRefs[batch.target] = batch.refs.map { UInt32(truncatingIfNeeded: $0) }
        }
        if let timestamps = batch.timestamps {
            for timestamp in timestamps { appendZigzag(timestamp &- batch.timestamp) }
        }
        batch.refs.withUnsafeBufferPointer { refs in
            batch.values.withUnsafeBufferPointer { values in
                previous.withUnsafeMutableBufferPointer { previous in
                    for index in 0..<refs.count {
                        let ref = Int(refs[index])
                        let bits = values[index].bitPattern
                        ValueCoding.encode(bits, previous: previous[ref], into: &scratch)
                        previous[ref] = bits
                    }
                }
            }
        }
        records.append(Record(type: EventKind.samples.rawValue, payload: scratch))
        sinceCheckpoint += scratch.count
        if batch.count > 0 {
            let newestInBatch = batch.timestamps?.max() ?? batch.timestamp
            newest = Swift.max(newest ?? newestInBatch, newestInBatch)
        }
        return records
    }

    private static func equal(_ kept: [UInt32], _ refs: [UInt64]) -> Bool {
        guard kept.count == refs.count else { return false }
        return kept.withUnsafeBufferPointer { kept in
            refs.withUnsafeBufferPointer { refs in
                // No early exit: the loop vectorizes, and lists that differ are rare.
                var differences: UInt64 = 0
                for index in 0..<refs.count { differences |= UInt64(kept[index]) ^ refs[index] }
                return differences == 0
            }
        }
    }

    @inline(__always)
    private mutating func appendVarint(_ value: UInt64) {
        Varint.append(value, to: &scratch)
    }

    @inline(__always)
    private mutating func appendZigzag(_ value: Int64) {
        appendVarint(Varint.zigzag(value))
    }
}
