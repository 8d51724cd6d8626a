import TestSupport
import Testing
import WAL

@testable import Events

/// A hand-made `samples` record for `target` at 1,000 ms: the refs as listed, every value coded from 0.
private func samplesRecord(target: UInt64, refs: [UInt64], values: [Double], trailing: [UInt8] = []) -> Record {
    Record(
        type: EventKind.samples.rawValue,
        payload: samplesPayload(target: target, timestamp: 1_000, refs: refs, values: values, trailing: trailing))
}

/// Every sample read back: (ref's labels, timestamp, value bits).
private func readAll(_ directory: String) throws -> (samples: [String], reader: EventReader) {
    var reader = try EventReader(directory: directory)
    var seen: [String] = []
    while let (_, event) = try reader.next() {
        guard case .samples(let batch) = event else { continue }
        for index in 0..<batch.count {
            let name = reader.labels(for: batch.refs[index])?.description ?? "?"
            seen.append("\(name)@\(batch.timestamp(at: index))=\(batch.values[index].bitPattern)")
        }
    }
    return (seen, reader)
}

@Suite(.timeLimit(.minutes(1))) struct UndecodableRecordTests {
    /// Three series scraped `count` times from `first` on; returns what a reader must see.
    private func scrapes(_ log: EventLog, target: UInt64, count: Int, first: Int) throws -> [String] {
        let labels = (0..<3).map { Labels(["__name__": "m", "series": "\($0)"]) }
        let refs = log.refs(for: labels)
        var expected: [String] = []
        for index in first..<(first + count) {
            let values = (0..<3).map { Double(index * 10 + $0) + 0.5 }
            let timestamp = Int64(index) * 1000
            try log.append(SampleBatch(target: target, timestamp: timestamp, refs: refs, values: values))
            for series in 0..<3 { expected.append("\(labels[series])@\(timestamp)=\(values[series].bitPattern)") }
        }
        return expected
    }

    @Test func aSampleOfASeriesNeverDefinedIsLeftOutAndEverythingElseDecodes() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        var expected = try scrapes(log, target: 1, count: 5, first: 0)
        // `sample for ref 999999 before its series`: it used to stop every reader here.
        _ = try log.writer.write([samplesRecord(target: 99, refs: [999_999], values: [1])])
        expected += try scrapes(log, target: 1, count: 5, first: 5)
        try log.close()
        let (seen, reader) = try readAll(dir.path)
        #expect(seen == expected)
        #expect(reader.skipped.isEmpty)
        #expect(reader.lostSamples == 1)
    }

    @Test func aRecordThatDoesNotDecodeIsSkippedAndCostsOnlyItsSeriesUntilTheNextCheckpoint() throws {
        let dir = TemporaryDirectory()
        // A checkpoint before nearly every scrape, so the broken chain mends at the next one.
        let log = try EventLog(directory: dir.path, options: .init(sync: .never), checkpointInterval: 1)
        let other = log.refs(for: [Labels(["__name__": "other"])])
        try log.append(SampleBatch(target: 2, timestamp: 500, refs: other, values: [7]))
        var expected = try scrapes(log, target: 1, count: 3, first: 0)
        expected.insert("\(Labels(["__name__": "other"]))@500=\(Double(7).bitPattern)", at: 0)
        // Intact on disk (its checksum is right) but with trailing bytes: it does not decode.
        let bad = samplesRecord(target: 2, refs: other, values: [8], trailing: [0xAB, 0xCD])
        let appended = try log.writer.write([bad])
        expected += try scrapes(log, target: 1, count: 3, first: 3)
        try log.close()
        let (seen, reader) = try readAll(dir.path)
        #expect(seen == expected)
        #expect(reader.skipped.count == 1)
        #expect(reader.skipped.first?.position.segment == appended.end.segment)
        #expect("\(reader.skipped[0])".contains("trailing bytes"))
    }

    @Test func theTailerSkipsTheSameRecordsAndKeepsFollowing() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let other = log.refs(for: [Labels(["__name__": "other"])])
        var expected = try scrapes(log, target: 1, count: 4, first: 0)
        _ = try log.writer.write([samplesRecord(target: 9, refs: other, values: [1], trailing: [1, 2, 3])])
        expected += try scrapes(log, target: 1, count: 4, first: 4)
        var tailer = EventTailer(log: log, from: .start(of: log.writer.end.segment))
        var seen: [String] = []
        while seen.count < expected.count, let (_, event) = try await tailer.next() {
            guard case .samples(let batch) = event else { continue }
            for index in 0..<batch.count {
                let name = tailer.labels(for: batch.refs[index])?.description ?? "?"
                seen.append("\(name)@\(batch.timestamp(at: index))=\(batch.values[index].bitPattern)")
            }
        }
        try log.close()
        #expect(seen == expected)
        #expect(tailer.skipped.count == 1)
    }
}
