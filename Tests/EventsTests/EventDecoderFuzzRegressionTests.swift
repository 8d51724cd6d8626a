import TestSupport
import Testing

@testable import Events
@testable import WAL

#if canImport(Glibc)
    import Glibc
#endif

/// A record as a reader returns it, at `offset` of segment 0.
private func stored(_ kind: EventKind, _ payload: [UInt8], at offset: Int = SegmentHeader.size) -> StoredRecord {
    StoredRecord(
        position: Position(segment: 0, offset: offset),
        end: Position(segment: 0, offset: offset + RecordFrame.headerSize + payload.count),
        record: Record(type: kind.rawValue, payload: payload))
}

/// A hand-made `samples` payload: no per-sample timestamps, the refs listed, every value coded
/// from 0, then `trailing` bytes (shared by the decoder tests of this target).
func samplesPayload(
    target: UInt64, timestamp: Int64, refs: [UInt64], values: [Double], trailing: [UInt8] = []
) -> [UInt8] {
    var writer = ByteWriter()
    writer.bytes.append(0)
    writer.uint64(target)
    writer.zigzag(timestamp)
    writer.varint(refs.count)
    var last: UInt64 = 0
    for ref in refs {
        writer.zigzag(Int64(bitPattern: ref &- last))
        last = ref
    }
    for value in values { ValueCoding.encode(value.bitPattern, previous: 0, into: &writer.bytes) }
    return writer.bytes + trailing
}

/// Inputs `fuzz-events` and `fuzz-wal` found (docs/fuzzing.md): each one trapped the decoder.
@Suite struct EventDecoderFuzzRegressionTests {
    /// fuzz-events input `01 5d 74 00 5d`: a series record that defines ref 116 (no labels) and
    /// is cut short in the next definition. A seek's decoder (`advance`, labels decoded lazily)
    /// kept ref 116 defined but not the payload holding its labels: asking for them trapped.
    @Test func aSeriesRecordThatFailsPartWayLeavesTheSeriesBeforeTheFailureReadableAfterASeek() {
        let record = stored(.series, [0x74, 0x00, 0x5D])
        var seeking = EventDecoder()
        #expect(throws: EventError.self) { try seeking.advance(record) }
        var reading = EventDecoder()
        #expect(throws: EventError.self) { try reading.decode(record) }
        #expect(reading.labels(for: 116) == Labels())
        #expect(seeking.labels(for: 116) == Labels())
        #expect(seeking.labels(for: 93) == nil)
    }

    /// The same through `EventReader` on a real log: reading from a position after such a
    /// record steps over it with `advance`; a later sample of the series it defined must
    /// still have its labels.
    @Test func aReaderStartingAfterAPartlyUndecodableSeriesRecordKeepsItsSeries() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let refs = log.refs(for: [Labels(["__name__": "m"])])
        try log.append(SampleBatch(target: 1, timestamp: 1_000, refs: refs, values: [1]))
        // Series 40 = {a="b"}, then ref 41 whose label count runs past the payload.
        var series = ByteWriter()
        series.varint(40)
        series.labels(Labels(["a": "b"]))
        series.varint(41)
        series.varint(3)
        let bad = try log.writer.write([Record(type: EventKind.series.rawValue, payload: series.bytes)])
        let samples = samplesPayload(target: 2, timestamp: 2_000, refs: [40], values: [5])
        let later = try log.writer.write([Record(type: EventKind.samples.rawValue, payload: samples)])
        try log.close()

        var reader = try EventReader(directory: dir.path, from: later.positions[0])
        var seen: [String] = []
        while let (_, event) = try reader.next() {
            guard case .samples(let batch) = event else { continue }
            for (ref, value) in zip(batch.refs, batch.values) {
                seen.append("\(reader.labels(for: ref)?.description ?? "?")=\(value)")
            }
        }
        #expect(seen == ["\(Labels(["a": "b"]))=5.0"])
        #expect(reader.skipped.map(\.position) == [bad.positions[0]])
    }

    /// fuzz-events input `02 54 00 02 02 00 40 00 00 ff 02 40 01 00 00` and its like: a samples
    /// record skipped as older than the window (`decode(_:skippingSamplesBefore:)`, which a
    /// seek's `advance` and `replay --since` use) while some value chain was broken made a
    /// batch of its refs without their values, and `SampleBatch` trapped on the count mismatch.
    @Test func aSkippedSamplesRecordWhileAChainIsBrokenIsSkipped() throws {
        // Broken by a lost record (damage stepped over): every chain.
        var decoder = EventDecoder()
        decoder.recordLost(in: 0)
        let old = stored(.samples, samplesPayload(target: 1, timestamp: 1_000, refs: [0], values: [1]))
        #expect(try decoder.decode(old, skippingSamplesBefore: 5_000) == nil)
        // Broken by a sample of a series never defined: that series' chain.
        var other = EventDecoder()
        let undefined = stored(.samples, samplesPayload(target: 1, timestamp: 1_000, refs: [7], values: [1]))
        #expect(try other.decode(undefined, skippingSamplesBefore: 5_000) == nil)
        try other.advance(undefined)
        #expect(other.lostSamples == 0)
    }

    /// The same through `EventReader` on a real log: damage in a closed segment, then a
    /// replay window that starts after the samples that follow it.
    @Test func aReplayWindowAfterDamageSkipsTheOlderSamples() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(segmentSize: 4 << 10, sync: .never))
        let refs = log.refs(for: (0..<3).map { Labels(["__name__": "m", "i": "\($0)"]) })
        for index in 0..<200 {
            try log.append(
                SampleBatch(
                    target: 1, timestamp: Int64(index) * 1_000, refs: refs,
                    values: [1, 2, 3].map { $0 + Double(index) }
                ))
        }
        try log.close()
        // Flip a byte in the payload of the fourth record of segment 0 (closed: later segments exist).
        var records = try LogReader(directory: dir.path)
        for _ in 0..<3 { _ = try records.next() }
        let victim = try #require(try records.next())
        #expect(victim.position.segment == 0)
        #expect(try SegmentName.list(in: dir.path).count > 1)
        let file = try SegmentFile(path: SegmentName.path(0, in: dir.path), flags: O_RDWR)
        var byte: [UInt8] = [0]
        let at = victim.position.offset + RecordFrame.headerSize + 2
        _ = try byte.withUnsafeMutableBytes { try file.read(into: $0, at: at) }
        byte[0] ^= 0x40
        try byte.withUnsafeBytes { try file.write($0, at: at) }

        var reader = try EventReader(directory: dir.path)
        var newest: Int64 = .min
        while let (_, event) = try reader.next(skippingSamplesBefore: 150_000) {
            guard case .samples(let batch) = event else { continue }
            #expect(batch.timestamp >= 150_000)
            newest = max(newest, batch.timestamp)
        }
        #expect(reader.corruptions.count == 1)
        #expect(newest == 199_000)
    }
}
