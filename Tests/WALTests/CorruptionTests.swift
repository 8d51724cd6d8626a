import Foundation
import TestSupport
import Testing

@testable import WAL

@Suite struct CorruptionTests {
    /// Writes `count` records in one segment (plus the empty segment a reopen adds) and returns them.
    private func writeSegment(_ dir: String, count: Int) throws -> [Record] {
        let writer = try LogWriter(directory: dir, options: .init(sync: .never))
        let records = (0..<count).map { sampleRecord($0 * 2 + 1, size: 60) }
        for record in records { try writer.append([record]) }
        try writer.close()
        return records
    }

    @Test func aTornWriteAtEveryByteOfTheLastRecordIsTruncatedOnOpen() throws {
        let dir = TemporaryDirectory()
        let source = dir.sub("source")
        let records = try writeSegment(source, count: 5)
        let segment = SegmentName.path(0, in: source)
        let full = try Data(contentsOf: URL(fileURLWithPath: segment))
        let (stored, _) = try readAll(source)
        let lastStart = stored.last!.position.offset
        for cut in lastStart..<full.count {
            let copy = dir.sub("cut\(cut)")
            try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
            try full.prefix(cut).write(to: URL(fileURLWithPath: SegmentName.path(0, in: copy)))
            let writer = try LogWriter(directory: copy, options: .init(sync: .never))
            if cut == lastStart {
                #expect(writer.openRepairs.isEmpty)
            } else {
                #expect(writer.openRepairs.map(\.position) == [Position(segment: 0, offset: lastStart)])
            }
            try writer.append([sampleRecord(1000)])
            try writer.close()
            #expect(fileSize(SegmentName.path(0, in: copy)) == lastStart)
            let (read, problems) = try readAll(copy)
            #expect(problems.isEmpty)
            #expect(read.map(\.record) == Array(records.dropLast()) + [sampleRecord(1000)])
            try FileManager.default.removeItem(atPath: copy)
        }
    }

    @Test func zeroedTailIsTreatedAsTorn() throws {
        let dir = TemporaryDirectory()
        let records = try writeSegment(dir.path, count: 3)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: SegmentName.path(0, in: dir.path)))
        handle.seekToEndOfFile()
        handle.write(Data(count: 4096))
        try handle.close()
        let writer = try LogWriter(directory: dir.path)
        #expect(writer.openRepairs.count == 1)
        #expect(writer.openRepairs[0].cause == .zeroed)
        try writer.close()
        #expect(try readAll(dir.path).0.map(\.record) == records)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8]) func aRandomBitFlipInAClosedSegmentCostsExactlyTheRecordItHits(
        seed: Int
    ) throws {
        let dir = TemporaryDirectory()
        var generator = SeededGenerator(seed: UInt64(seed))
        let writer = try LogWriter(directory: dir.path, options: .init(segmentSize: 2048, sync: .never))
        var written: [Record] = []
        for index in 0..<80 {
            let record = sampleRecord(index, size: 150)
            try writer.append([record])
            written.append(record)
        }
        try writer.close()
        let (intact, _) = try readAll(dir.path)
        #expect(intact.map(\.record) == written)
        let segments = Set(intact.map(\.position.segment)).sorted()
        #expect(segments.count >= 4)
        let victim = segments[1]
        let path = SegmentName.path(victim, in: dir.path)
        var bytes = try contents(path)
        let flip = Int.random(in: SegmentHeader.size..<bytes.count, using: &generator)
        bytes[flip] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let hit = try #require(intact.first { $0.position.segment == victim && $0.end.offset > flip })

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.position == hit.position)
        #expect(problem.skipped == hit.end.offset - hit.position.offset)
        #expect("\(problem)".hasPrefix(SegmentName.format(victim) + ":"))
        // Every other record, of this segment and the others, is read, in order.
        let expected = intact.filter { $0 != hit }
        #expect(read == expected)
        // The record after the lost one (if in the same segment) says so.
        let next = intact.first { $0.position == hit.end }
        #expect(lost == (next.map { [$0.position] } ?? []))
        #expect(try Repair.verify(directory: dir.path) == [problem])
        // Repair cuts that record out (or truncates the segment when it was the last).
        #expect(try Repair.repair(directory: dir.path) == [problem])
        #expect(try Repair.verify(directory: dir.path).isEmpty)
        let repaired = try readWithLosses(dir.path)
        #expect(repaired.records == expected)
        #expect(repaired.lost == lost)
        #expect(repaired.corruptions.isEmpty)
    }

    @Test func verifyReportsMissingSegments() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(segmentSize: 512, sync: .never))
        for index in 0..<20 { try writer.append([sampleRecord(index * 2 + 1, size: 200)]) }
        try writer.close()
        try FileManager.default.removeItem(atPath: SegmentName.path(2, in: dir.path))
        let problems = try Repair.verify(directory: dir.path)
        #expect(problems.count == 1)
        #expect(problems.first?.cause == .segmentsMissing(first: 2, last: 2))
    }
}
