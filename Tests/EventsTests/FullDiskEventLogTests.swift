import Foundation
import TestSupport
import Testing
import WAL

@testable import Events

@Suite struct FullDiskEventLogTests {
    /// Scrape `index` of 40 series; values change every scrape, so the value chains matter.
    private func scrape(_ refs: [UInt64], _ index: Int) -> SampleBatch {
        SampleBatch(
            target: 7, timestamp: Int64(index) * 1000, refs: refs,
            values: refs.map { Double($0) * 1.25 + Double(index * index) / 3 })
    }

    @Test(.timeLimit(.minutes(1))) func aFullDiskIsAStateTheLogLeavesByItselfWithNothingHalfMade() throws {
        let dir = TemporaryDirectory()
        try withSmallDisk(at: dir.sub("disk"), size: "256k") { disk in
            let filler = disk.fill("filler", bytes: 64 << 10)
            // Small segments: the disk also fills while a new segment is being made.
            let log = try EventLog(directory: disk.path + "/wal", options: .init(segmentSize: 16 << 10, sync: .batch))
            let refs = log.refs(for: (0..<40).map { Labels(["__name__": "m", "series": "\($0)"]) })
            var stored: [SampleBatch] = []
            var failures = 0
            var index = 0
            while failures < 20 {
                index += 1
                do {
                    try log.append(scrape(refs, index))
                    stored.append(scrape(refs, index))
                } catch let error as WALError {
                    #expect(error.isOutOfSpace, "\(error)")
                    failures += 1
                }
                try #require(index < 100_000, "the disk never filled up")
            }
            #expect(log.health.failing?.reason == "disk_full")
            #expect(log.health.failures["disk_full"] == 20)
            // No half-made segment: every one holds at least its header.
            for segment in try SegmentName.list(in: log.writer.directory) {
                let size =
                    try FileManager.default.attributesOfItem(
                        atPath: SegmentName.path(segment, in: log.writer.directory))[.size] as? Int
                #expect((size ?? 0) >= SegmentHeader.size, "segment \(segment)")
            }

            // Space returns: appending resumes by itself.
            try FileManager.default.removeItem(atPath: filler)
            for _ in 0..<30 {
                index += 1
                try log.append(scrape(refs, index))
                stored.append(scrape(refs, index))
            }
            #expect(log.health.failing == nil)
            try log.close()

            #expect(try Repair.verify(directory: log.writer.directory).isEmpty)
            var reader = try EventReader(directory: log.writer.directory)
            var read: [SampleBatch] = []
            while let (_, event) = try reader.next() {
                if case .samples(let batch) = event { read.append(batch) }
            }
            #expect(reader.skipped.isEmpty)
            #expect(reader.lostSamples == 0)
            // Every stored scrape reads back bit-exactly: the encoder restarted cleanly after each failure.
            #expect(read.count == stored.count)
            let mismatch = zip(read, stored).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(
                mismatch == nil,
                "first difference at scrape \(mismatch ?? -1): \(mismatch.map { read[$0].timestamp } ?? 0)")
        }
    }
}
