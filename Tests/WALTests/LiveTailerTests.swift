import TestSupport
import Testing

@testable import WAL

@Suite struct LiveTailerTests {
    @Test(.timeLimit(.minutes(1))) func followsTheWriterAcrossRotationsWithoutMissingARecord() async throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(segmentSize: 1024, sync: .never))
        let total = 600
        let reader = Task {
            var tailer = LiveTailer(writer: writer, from: .start(of: 0))
            var seen: [Record] = []
            while seen.count < total, let record = try await tailer.next() { seen.append(record.record) }
            return seen
        }
        var written: [Record] = []
        for index in 0..<total {
            let record = sampleRecord(index, size: 50 + index % 100)
            try await writer.append([record])
            written.append(record)
            // The workload, not a synchronization: a pause now and then lets the reader catch up
            // with the writer, so it follows rotations live instead of reading closed segments.
            if index % 50 == 0 { try await Task.sleep(for: .milliseconds(2)) }
        }
        let seen = try await reader.value
        #expect(seen == written)
        #expect(try SegmentName.list(in: dir.path).count > 10)
        try writer.close()
    }

    @Test(.timeLimit(.minutes(1))) func returnsNilOnceTheWriterIsClosed() async throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        try await writer.append([sampleRecord(1)])
        let (reads, reading) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            var tailer = LiveTailer(writer: writer, from: .start(of: 0))
            var count = 0
            while try await tailer.next() != nil {
                count += 1
                reading.yield(count)
            }
            reading.finish()
            return count
        }
        // Close once the tailer has read the record and goes on to wait for the next one.
        var iterator = reads.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        try writer.close()
        let count = try await task.value
        #expect(count == 1)
    }

    /// Every record `nextAvailable` returns now, and those it returned with `lostSinceLastRecord`.
    private func drain(_ tailer: inout LiveTailer) throws -> (records: [StoredRecord], lost: [Position]) {
        var records: [StoredRecord] = []
        var lost: [Position] = []
        while let record = try tailer.nextAvailable() {
            records.append(record)
            if tailer.lostSinceLastRecord { lost.append(record.position) }
        }
        #expect(!tailer.lostSinceLastRecord)
        return (records, lost)
    }

    @Test func resyncsPastDamageInAClosedSegmentAndNeverReadsPastTheWritersEnd() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(segmentSize: 2048, sync: .never))
        for index in 0..<40 { try writer.append([sampleRecord(index * 2 + 1, size: 150)]) }
        let intact = try readAll(dir.path).0
        let segment = intact.filter { $0.position.segment == 1 }
        #expect(writer.end.segment > 1)
        let victim = segment[4]
        try flip(SegmentName.path(1, in: dir.path), at: victim.position.offset + 50)

        var tailer = LiveTailer(writer: writer, from: .start(of: 0))
        let (seen, lost) = try drain(&tailer)
        #expect(seen == intact.filter { $0 != victim })
        #expect(lost == [segment[5].position])
        #expect(tailer.corruptions.map(\.position) == [victim.position])
        #expect(tailer.corruptions.map(\.skipped) == [victim.end.offset - victim.position.offset])

        // Bytes past the writer's end in the current segment are not damage (the next
        // append writes over them): nothing is reported, and the append is read intact.
        let end = writer.end
        #expect(tailer.current == end)
        try overwrite(
            SegmentName.path(end.segment, in: dir.path), at: end.offset, with: [UInt8](repeating: 0xAB, count: 400))
        #expect(try tailer.nextAvailable() == nil)
        try writer.append([sampleRecord(1001, size: 50)])
        let more = try drain(&tailer)
        #expect(more.records.map(\.record) == [sampleRecord(1001, size: 50)])
        #expect(more.lost.isEmpty)
        #expect(tailer.corruptions.count == 1)
        try writer.close()
    }

    /// Everything before the writer's end is complete, so an invalid record there is damage
    /// even in the segment being written; when none follows, reading goes on at the end.
    @Test func resyncsPastDamageBelowTheWritersEndInTheCurrentSegment() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        for index in 0..<10 { try writer.append([sampleRecord(index * 2 + 1, size: 150)]) }
        let intact = try readAll(dir.path).0
        let path = SegmentName.path(writer.end.segment, in: dir.path)
        try flip(path, at: intact[3].position.offset + 60)
        try flip(path, at: intact[9].position.offset + 60)

        var tailer = LiveTailer(writer: writer, from: .start(of: 0))
        let (seen, lost) = try drain(&tailer)
        #expect(seen == intact.filter { $0 != intact[3] && $0 != intact[9] })
        #expect(lost == [intact[4].position])
        #expect(tailer.corruptions.map(\.position) == [intact[3].position, intact[9].position])
        #expect(tailer.corruptions.map(\.skipped) == [intact[3], intact[9]].map { $0.end.offset - $0.position.offset })
        #expect(tailer.current == writer.end)

        // The record appended next follows the lost one in the same segment.
        try writer.append([sampleRecord(1001, size: 50)])
        let more = try drain(&tailer)
        #expect(more.records.map(\.record) == [sampleRecord(1001, size: 50)])
        #expect(more.lost == more.records.map(\.position))
        #expect(tailer.corruptions.count == 2)
        try writer.close()
    }
}
