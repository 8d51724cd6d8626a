import Foundation
import TestSupport
import Testing
import WAL

@testable import Events

/// One sample as a replay sees it: series labels, time, exact value bits.
private struct Seen: Hashable {
    var labels: Labels
    var timestamp: Int64
    var bits: UInt64
}

/// A log of two targets with mixed values (integers, floats, NaN, staleness markers,
/// per-sample timestamps now and then), small segments and checkpoints every `interval`.
private func writeMixedLog(_ directory: String, interval: Int, scrapes: Int = 1500) throws -> [Seen] {
    var generator = SeededGenerator(seed: 21)
    let log = try EventLog(
        directory: directory, options: .init(segmentSize: 64 << 10, sync: .never), checkpointInterval: interval)
    let targets: [(key: UInt64, labels: [Labels])] = [
        (1, (0..<50).map { Labels(["__name__": "node_x", "i": "\($0)", "instance": "a"]) }),
        (2, (0..<30).map { Labels(["__name__": "node_y", "i": "\($0)", "instance": "b"]) }),
    ]
    let refs = targets.map { log.refs(for: $0.labels) }
    var values = targets.map { [Double](repeating: 0, count: $0.labels.count) }
    var expected: [Seen] = []
    for scrape in 0..<scrapes {
        for (index, target) in targets.enumerated() {
            for series in values[index].indices {
                switch UInt8.random(in: 0..<10, using: &generator) {
                case 0..<4: values[index][series] += Double(Int.random(in: 0..<100, using: &generator))
                case 4..<7: values[index][series] += Double.random(in: 0..<1, using: &generator)
                case 7: values[index][series] = .nan
                case 8: values[index][series] = SampleBatch.staleMarker
                default: break
                }
            }
            let timestamp = Int64(1_000_000 + scrape * 1000 + index * 10)
            let own: [Int64]? =
                scrape % 37 == 0 ? values[index].indices.map { timestamp - 500 + Int64($0) } : nil
            let batch = SampleBatch(
                target: target.key, timestamp: timestamp, refs: refs[index], values: values[index], timestamps: own)
            try log.append(batch)
            for series in values[index].indices {
                expected.append(
                    Seen(
                        labels: target.labels[series], timestamp: batch.timestamp(at: series),
                        bits: values[index][series].bitPattern))
            }
        }
    }
    try log.close()
    return expected
}

/// The samples of `segment` that a reader seeking to `since` returns at or after `since`.
private func seekSamples(_ directory: String, segment: Int, since: Int64) throws -> (seen: [Seen], start: Position) {
    var reader = try EventReader(directory: directory, segment: segment, seekingTo: since)
    var seen: [Seen] = []
    while let (record, event) = try reader.next(skippingSamplesBefore: since), record.position.segment == segment {
        guard case .samples(let batch) = event else { continue }
        for index in 0..<batch.count where batch.timestamp(at: index) >= since {
            let found = reader.labels(for: batch.refs[index])
            let labels = try #require(found)
            seen.append(
                Seen(labels: labels, timestamp: batch.timestamp(at: index), bits: batch.values[index].bitPattern))
        }
    }
    return (seen, reader.decodingStart)
}

/// Where two sample lists part, briefly (the lists themselves are too long to print).
private func difference(_ got: [Seen], _ want: [Seen]) -> String {
    let index =
        zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? Swift.min(got.count, want.count)
    return "\(got.count) samples, \(want.count) expected, first difference at \(index)"
}

@Suite struct CheckpointTests {
    @Test func aSeekReturnsExactlyWhatASequentialReadReturnsFromThatTime() throws {
        let dir = TemporaryDirectory()
        let expected = try writeMixedLog(dir.path, interval: 512)
        let segments = try SegmentName.list(in: dir.path)
        #expect(segments.count > 3)
        let summary = try LogSummary.read(directory: dir.path)
        #expect(summary.segments.dropLast().allSatisfy { ($0.records[.checkpoint] ?? 0) > 3 })

        var generator = SeededGenerator(seed: 5)
        var startedInside = 0
        for _ in 0..<40 {
            let since = Int64.random(in: 990_000...2_510_000, using: &generator)
            var seen: [Seen] = []
            for segment in segments {
                let (samples, start) = try seekSamples(dir.path, segment: segment, since: since)
                seen += samples
                if start.offset > SegmentHeader.size { startedInside += 1 }
            }
            // Same samples, same order, bit for bit.
            let want = expected.filter { $0.timestamp >= since }
            let same = seen == want
            #expect(same, "\(difference(seen, want)) for since = \(since)")
        }
        // The seeks really started at checkpoints, not at the segments' starts.
        #expect(startedInside > 40)
    }

    @Test func readingFromAnyRecordEqualsReadingTheSegmentFromItsStart() throws {
        let dir = TemporaryDirectory()
        _ = try writeMixedLog(dir.path, interval: 256, scrapes: 120)
        let all = try readEvents(dir.path)
        var generator = SeededGenerator(seed: 8)
        for _ in 0..<25 {
            let index = Int.random(in: 0..<all.count, using: &generator)
            let position = all[index].0.position
            let fromThere = try readEvents(dir.path, from: position)
            #expect(fromThere.count == all.count - index)
            for (got, want) in zip(fromThere, all[index...]) {
                #expect(got.0.position == want.0.position)
                #expect(got.1 == want.1)
                #expect(got.2 == want.2)
            }
        }
    }

    @Test func aCheckpointCostsAboutOnePercentWhateverTheSeriesCount() throws {
        // With a 1-byte interval, the 160-bytes-per-series floor decides the spacing.
        func write(_ directory: String, interval: Int) throws -> (bytes: Int, checkpoints: Int) {
            let log = try EventLog(directory: directory, options: .init(sync: .never), checkpointInterval: interval)
            let refs = log.refs(for: (0..<2000).map { Labels(["__name__": "m", "i": "\($0)"]) })
            var values = (0..<2000).map { Double($0) }
            var generator = SeededGenerator(seed: 2)
            for scrape in 0..<1200 {
                for index in values.indices where index % 3 != 0 {
                    values[index] += index % 2 == 0 ? Double(UInt8.random(in: 0..<50, using: &generator)) : 0.25
                }
                try log.append(SampleBatch(target: 1, timestamp: Int64(scrape) * 15_000, refs: refs, values: values))
            }
            try log.close()
            let summary = try LogSummary.read(directory: directory)
            return (summary.totalBytes, summary.segments.reduce(0) { $0 + ($1.records[.checkpoint] ?? 0) })
        }
        let dir = TemporaryDirectory()
        let without = try write(dir.sub("without"), interval: .max)
        let with = try write(dir.sub("with"), interval: 1)
        #expect(without.checkpoints == 0)
        #expect(with.checkpoints >= 8)
        let overhead = Double(with.bytes - without.bytes) / Double(without.bytes)
        #expect(overhead < 0.03, "checkpoints cost \(overhead * 100) % of the log")
    }

    @Test func aSeekThatMeetsDamageStopsBeforeItAndTheReaderReportsIt() throws {
        let dir = TemporaryDirectory()
        _ = try writeMixedLog(dir.path, interval: 512)
        let segment = try SegmentName.list(in: dir.path)[1]
        var reader = try LogReader(directory: dir.path, from: .start(of: segment))
        var records: [StoredRecord] = []
        while let record = try reader.next(), record.position.segment == segment { records.append(record) }
        let checkpoints = records.indices.filter { records[$0].type == EventKind.checkpoint.rawValue }
        #expect(checkpoints.count >= 3)
        func firstSamples(after index: Int) throws -> StoredRecord {
            try #require(records[index...].first { $0.type == EventKind.samples.rawValue })
        }
        // The window starts after the second checkpoint; the damage comes after the third.
        var batchReader = try EventReader(directory: dir.path, from: try firstSamples(after: checkpoints[1]).position)
        guard case .samples(let first)? = try batchReader.next()?.event else {
            Issue.record("no samples after the second checkpoint")
            return
        }
        let since = first.timestamp
        let damaged = try firstSamples(after: checkpoints[2]).position
        // Unknown flags in its header: the walk cannot step over it.
        let handle = try #require(FileHandle(forUpdatingAtPath: SegmentName.path(segment, in: dir.path)))
        try handle.seek(toOffset: UInt64(damaged.offset + 13))
        handle.write(Data([0x80]))
        try handle.close()

        func samples(_ reader: inout EventReader) throws -> [Seen] {
            var seen: [Seen] = []
            while let (record, event) = try reader.next(skippingSamplesBefore: since),
                record.position.segment == segment
            {
                guard case .samples(let batch) = event else { continue }
                for index in 0..<batch.count where batch.timestamp(at: index) >= since {
                    let labels = reader.labels(for: batch.refs[index])
                    seen.append(
                        Seen(
                            labels: try #require(labels), timestamp: batch.timestamp(at: index),
                            bits: batch.values[index].bitPattern))
                }
            }
            return seen
        }
        var sequential = try EventReader(directory: dir.path, from: .start(of: segment))
        let expected = try samples(&sequential)
        var seeker = try EventReader(directory: dir.path, segment: segment, seekingTo: since)
        #expect(seeker.decodingStart > .start(of: segment))
        #expect(seeker.decodingStart < damaged)
        let seen = try samples(&seeker)
        #expect(!seen.isEmpty)
        let same = seen == expected
        #expect(same, "\(difference(seen, expected))")
        #expect(seeker.corruptions.map(\.position) == [damaged])
        #expect(sequential.corruptions.map(\.position) == [damaged])
    }
}
