import Foundation
import TestSupport
import Testing

@testable import WAL

@Suite struct FullDiskTests {
    @Test(.timeLimit(.minutes(1))) func aFullDiskFailsAppendsCleanlyAndAppendingResumesWhenSpaceReturns() throws {
        let dir = TemporaryDirectory()
        try withSmallDisk(at: dir.sub("small-disk"), size: "512k") { disk in try fillAndFree(disk) }
    }

    private func fillAndFree(_ disk: SmallDisk) throws {
        let mount = disk.path
        let filler = disk.fill("filler", bytes: 128 << 10)
        let wal = mount + "/wal"
        let writer = try LogWriter(directory: wal, options: .init(segmentSize: 4 << 20, sync: .batch))
        var written: [Record] = []
        var failure: WALError?
        for index in 0..<10_000 {
            let record = sampleRecord(index * 2 + 1, size: 3000)
            do {
                try writer.append([record])
                written.append(record)
            } catch let error as WALError {
                failure = error
                break
            }
        }
        let error = try #require(failure, "the disk never filled up")
        #expect(error.isOutOfSpace)
        #expect("\(error)".contains("No space left on device"))
        #expect(written.count > 50)

        // Nothing already written is damaged, and no partial record is left behind.
        #expect(try Repair.firstProblem(directory: wal, segment: writer.end.segment) == nil)
        #expect(try readAll(wal).0.map(\.record) == written)

        // Still full: appending keeps failing, without damage.
        #expect(throws: WALError.self) { try writer.append([sampleRecord(99_999, size: 3000)]) }

        try FileManager.default.removeItem(atPath: filler)
        for index in 0..<5 {
            let record = sampleRecord(20_001 + index * 2, size: 3000)
            try writer.append([record])
            written.append(record)
        }
        try writer.close()
        let (read, problems) = try readAll(wal)
        #expect(problems.isEmpty)
        #expect(read.map(\.record) == written)
    }
}
