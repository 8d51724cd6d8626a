import Foundation
import TestSupport
import Testing
import WAL

@testable import Events

let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

/// Reads every event of a directory back.
func readEvents(_ directory: String, from: Position = Position(segment: 0, offset: 0)) throws -> [(
    StoredRecord, Event, [UInt64: Labels]
)] {
    var reader = try EventReader(directory: directory, from: from)
    var out: [(StoredRecord, Event, [UInt64: Labels])] = []
    while let (record, event) = try reader.next() {
        var labels: [UInt64: Labels] = [:]
        if case .samples(let batch) = event {
            for ref in batch.refs { labels[ref] = reader.labels(for: ref) }
        }
        out.append((record, event, labels))
    }
    return out
}

/// Decodes `count` values of one series (ref 0) with the decoder's value loop: their bit
/// patterns, and the offset after the last.
func decodeOneSeries(_ bytes: [UInt8], count: Int) throws -> (values: [UInt64], end: Int) {
    var previous: [UInt64] = [0]
    var values: [UInt64] = []
    var offset = 0
    let ref: [UInt64] = [0]
    for _ in 0..<count {
        var value = 0.0
        offset = try ref.withUnsafeBufferPointer { ref in
            try previous.withUnsafeMutableBufferPointer { previous in
                try bytes.withUnsafeBufferPointer { bytes in
                    try ValueCoding.decode(ref, previous: previous.baseAddress!, from: bytes, at: offset, into: &value)
                }
            }
        }
        values.append(value.bitPattern)
    }
    return (values, offset)
}

@Suite struct EventCodecTests {
    @Test func everyEventKindRoundTrips() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let labels = Labels(["__name__": "up", "job": "node", "instance": "a:1"])
        let empty = Labels()
        let large = Labels(
            Dictionary(uniqueKeysWithValues: (0..<300).map { ("label_\($0)", String(repeating: "v", count: $0)) }))
        let refs = log.refs(for: [labels, empty, large])
        let values: [Double] = [1, .nan, staleNaN]
        let events: [Event] = [
            .targets(
                TargetsChange(
                    time: 1_700_000_000_000,
                    added: [.init(key: 42, labels: labels), .init(key: .max, labels: large)], removed: [7, 8])),
            .samples(SampleBatch(target: 42, timestamp: 1_700_000_000_123, refs: refs, values: values)),
            .membership(
                MembershipEvent(
                    time: -5, lamport: 99, member: "agentd-1", address: "127.0.0.1:12345", state: .dead,
                    incarnation: 3, reportedBy: ["agentd-2", "agentd-3"], detail: "no ack")),
            .ownership(
                OwnershipEvent(
                    time: 10, effective: 15_000, target: 42, labels: labels, previousOwner: "agentd-1",
                    newOwner: "", cause: .memberLeft, detail: "agentd-1 left gracefully")),
        ]
        for event in events { try log.append(event) }
        try log.close()
        let read = try readEvents(dir.path)
        let nonSeries = read.filter { $0.1.kind != .series }
        #expect(nonSeries.map(\.1) == events)
        let sampleLabels = try #require(nonSeries.first { $0.1.kind == .samples }?.2)
        #expect(sampleLabels == [refs[0]: labels, refs[1]: empty, refs[2]: large])
        #expect(read.first { $0.1.kind == .series } != nil)
        // The staleness marker keeps its exact bit pattern.
        if case .samples(let batch) = nonSeries[1].1 {
            #expect(batch.values[2].bitPattern == 0x7ff0_0000_0000_0002)
        }
    }

    @Test(arguments: [
        [0.0, 1, 2, 3, 1000, 1001, -5, 1e15, 1e15 + 1],
        [0.5, 0.25, -0.0, 0.0, .infinity, -.infinity, .nan, Double(bitPattern: 0x7ff0_0000_0000_0002)],
        [
            9007199254740993.0, 9007199254740992.0, -9007199254740991.0, 1e300, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude,
        ],
    ])
    func valuesRoundTripBitExactly(values: [Double]) throws {
        var out: [UInt8] = []
        var previous: UInt64 = 0
        for value in values {
            ValueCoding.encode(value.bitPattern, previous: previous, into: &out)
            previous = value.bitPattern
        }
        let (decoded, end) = try decodeOneSeries(out, count: values.count)
        for (bits, value) in zip(decoded, values) { #expect(bits == value.bitPattern) }
        #expect(end == out.count)
    }

    @Test func randomValueSequencesRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        var values: [Double] = []
        var counter = 0.0
        for _ in 0..<20_000 {
            switch UInt8.random(in: 0..<5, using: &generator) {
            case 0: counter += Double(Int.random(in: 0..<1000, using: &generator))
            case 1: counter += Double.random(in: 0..<1, using: &generator)
            case 2: counter = Double(bitPattern: generator.next())
            case 3: counter = Double(Int64.random(in: -(1 << 53)..<(1 << 53), using: &generator))
            default: break
            }
            values.append(counter)
        }
        var out: [UInt8] = []
        var previous: UInt64 = 0
        for value in values {
            ValueCoding.encode(value.bitPattern, previous: previous, into: &out)
            previous = value.bitPattern
        }
        let (decoded, _) = try decodeOneSeries(out, count: values.count)
        for (bits, value) in zip(decoded, values) { #expect(bits == value.bitPattern) }
    }

    @Test func samplesWithTheirOwnTimestampsRoundTrip() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let refs = log.refs(for: [Labels(["__name__": "a"]), Labels(["__name__": "b"])])
        let batch = SampleBatch(target: 1, timestamp: 1000, refs: refs, values: [1, 2], timestamps: [900, 1100])
        try log.append(batch)
        try log.close()
        #expect(try readEvents(dir.path).compactMap { if case .samples(let b) = $0.1 { b } else { nil } } == [batch])
    }

    @Test func routesRoundTripAndARecordWithoutOneGoesEverywhere() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let refs = log.refs(for: [Labels(["__name__": "a"]), Labels(["__name__": "b"])])
        let batches = [
            SampleBatch(target: 1, timestamp: 1000, refs: refs, values: [1, 2]),
            SampleBatch(target: 1, timestamp: 2000, refs: refs, values: [3, 4], route: ["a", "b"]),
            SampleBatch(target: 1, timestamp: 3000, refs: refs, values: [5, 6], route: ["a", "b"]),
            SampleBatch(target: 2, timestamp: 3000, refs: refs, values: [7, 8], timestamps: [1, 2], route: ["b"]),
            SampleBatch(target: 3, timestamp: 4000, refs: refs, values: [9, 10], route: []),
        ]
        for batch in batches { try log.append(batch) }
        try log.close()
        let read = try readEvents(dir.path).compactMap { if case .samples(let b) = $0.1 { b } else { nil } }
        #expect(read == batches)
        #expect(read.map { $0.flows(to: "a") } == [true, true, true, false, false])
        #expect(read.map { $0.flows(to: "b") } == [true, true, true, true, false])
        // The summaries the index is built from step over the route.
        var reader = try LogReader(directory: dir.path)
        var counts: [Int] = []
        while let record = try reader.next() {
            if case .samples(let count, _, let newest) = try RecordSummary.of(record) {
                counts.append(count)
                if count == 2, newest == 2 { counts.append(-1) }
            }
        }
        #expect(counts == [2, 2, 2, 2, -1, 2])
    }

    @Test func unchangedScrapesCostAboutOneBytePerSample() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let refs = log.refs(for: (0..<500).map { Labels(["__name__": "m", "i": "\($0)"]) })
        var appended: [LogWriter.Appended] = []
        for scrape in 0..<10 {
            let values = (0..<500).map { Double($0 * 1000 + scrape) }
            appended.append(
                try log.append(SampleBatch(target: 9, timestamp: Int64(scrape) * 15_000, refs: refs, values: values)))
        }
        try log.close()
        // The last scrape: refs omitted, each value +1 from the previous one: one byte per sample before lz4.
        let last = appended[9].positions[0]
        let previousEnd = appended[8].end
        #expect(last == previousEnd)
        #expect(appended[9].end.offset - last.offset < 100)
    }

    @Test func eachSegmentDecodesOnItsOwn() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(segmentSize: 2 << 10, sync: .never))
        let series = (0..<200).map { Labels(["__name__": "node_x", "cpu": "\($0)", "job": "node"]) }
        let refs = log.refs(for: series)
        var batches: [SampleBatch] = []
        for scrape in 0..<60 {
            let values = (0..<200).map { Double($0) * 0.5 + Double(scrape) * 1.25 }
            let batch = SampleBatch(target: 5, timestamp: Int64(scrape) * 1000, refs: refs, values: values)
            try log.append(batch)
            batches.append(batch)
        }
        try log.close()
        let segments = try SegmentName.list(in: dir.path)
        #expect(segments.count > 5)
        var seen: [SampleBatch] = []
        for segment in segments {
            // Decode each segment starting cold at its own beginning.
            let events = try readEvents(dir.path, from: .start(of: segment))
                .filter { $0.0.position.segment == segment }
            for (_, event, labels) in events {
                guard case .samples(let batch) = event else { continue }
                seen.append(batch)
                for (index, ref) in batch.refs.enumerated() { #expect(labels[ref] == series[index]) }
            }
        }
        #expect(seen == batches)
    }

    @Test func damagedPayloadsFailWithAPositionAndNeverCrash() throws {
        var generator = SeededGenerator(seed: 11)
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let refs = log.refs(for: (0..<20).map { Labels(["__name__": "m\($0)"]) })
        try log.append(SampleBatch(target: 1, timestamp: 5, refs: refs, values: refs.map { Double($0) * 1.5 }))
        try log.close()
        var reader = try LogReader(directory: dir.path)
        var records: [StoredRecord] = []
        while let record = try reader.next() { records.append(record) }
        var failures = 0
        for _ in 0..<2000 {
            var decoder = EventDecoder()
            for var record in records {
                if Bool.random(using: &generator), !record.record.payload.isEmpty {
                    let index = Int.random(in: 0..<record.record.payload.count, using: &generator)
                    record.record.payload[index] ^= UInt8.random(in: 1...255, using: &generator)
                    if Bool.random(using: &generator) { record.record.payload.removeLast() }
                }
                do {
                    _ = try decoder.decode(record)
                } catch {
                    #expect("\(error)".contains(record.position.description))
                    failures += 1
                    break
                }
            }
        }
        #expect(failures > 0)
    }

    @Test func targetKeysIgnoreMetaLabelsAndDependOnEveryOtherLabel() {
        let a = TargetKey.of(["__address__": "127.0.0.1:9101", "job": "x", "__meta_exporter": "one"])
        let b = TargetKey.of(["__address__": "127.0.0.1:9101", "job": "x", "__meta_exporter": "two"])
        let c = TargetKey.of(["__address__": "127.0.0.1:9102", "job": "x"])
        #expect(a == b)
        #expect(a != c)
        #expect(TargetKey.format(0xab) == "00000000000000ab")
    }
}
