import Foundation
import TestSupport
import Testing

@testable import WAL

/// Damage in a closed segment costs the records it hits, not the rest of the segment;
/// `Repair` cuts it out in place.
@Suite struct ResyncTests {
    /// Writes `count` records, `sampleRecord(first + 2 × i, size: 150)` (odd `first`:
    /// incompressible, even: compressible), in segments of at most `segmentSize` bytes,
    /// closes the writer and returns what reads back.
    private func writeLog(_ dir: String, count: Int = 48, first: Int = 1, segmentSize: Int = 2048) throws
        -> [StoredRecord]
    {
        let writer = try LogWriter(directory: dir, options: .init(segmentSize: segmentSize, sync: .never))
        for index in 0..<count { try writer.append([sampleRecord(first + 2 * index, size: 150)]) }
        try writer.close()
        let (records, problems) = try readAll(dir)
        #expect(problems.isEmpty)
        #expect(records.count == count)
        // Segments 1 and 2 are closed: the newest one is never resynced.
        try #require(Set(records.map(\.position.segment)).count >= 4)
        return records
    }

    private func records(_ all: [StoredRecord], in segment: Int) -> [StoredRecord] {
        all.filter { $0.position.segment == segment }
    }

    private func size(_ record: StoredRecord) -> Int { record.end.offset - record.position.offset }

    @Test func aBitFlipInAPayloadCostsExactlyThatRecord() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let segment = records(intact, in: 1)
        #expect(segment.count >= 8)
        let victim = segment[4]
        try flip(SegmentName.path(1, in: dir.path), at: victim.position.offset + RecordFrame.headerSize + 70)

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(read == intact.filter { $0 != victim })
        #expect(lost == [segment[5].position])
        #expect(problems.map(\.position) == [victim.position])
        #expect(problems.map(\.skipped) == [size(victim)])
        #expect(
            {
                if case .checksumMismatch = problems.first?.cause { return true } else { return false }
            }())
        #expect(problems.first?.description.hasSuffix("(\(size(victim)) bytes skipped)") == true)
    }

    /// The length field is overwritten: with a value no record can have (the scan finds
    /// the next record), or with a plausible one that points exactly at the record after
    /// next, which is valid: trusting it would lose an intact record.
    @Test(arguments: [false, true]) func aSmashedLengthFieldIsResyncedByScanning(plausible: Bool) throws {
        let dir = TemporaryDirectory()
        // Even first index: every record compressible, so its rawLength leaves room for a plausible length.
        let intact = try writeLog(dir.path, count: plausible ? 160 : 48, first: plausible ? 2 : 1)
        let segment = records(intact, in: 1)
        let victim = segment[3]
        let length: UInt32
        if plausible {
            length = UInt32(segment[5].position.offset - victim.position.offset - RecordFrame.headerSize)
            let raw = try contents(SegmentName.path(1, in: dir.path))[(victim.position.offset + 8)...].prefix(4)
            let rawLength = raw.reversed().reduce(0) { $0 << 8 | UInt32($1) }
            try #require(length < rawLength, "the pointed-at length must pass the header rules")
        } else {
            length = 0x00FF_FF00
        }
        try overwrite(
            SegmentName.path(1, in: dir.path), at: victim.position.offset + 4,
            with: withUnsafeBytes(of: length.littleEndian) { Array($0) })

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(read == intact.filter { $0 != victim })
        #expect(lost == [segment[4].position])
        #expect(problems.map(\.position) == [victim.position])
        #expect(problems.map(\.skipped) == [size(victim)])
    }

    /// The last record's payload is damaged, or its length now runs past the end of the file.
    @Test(arguments: [false, true]) func damageInTheLastRecordOfAClosedSegmentCostsOnlyThatRecord(torn: Bool) throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path, count: 160, first: 2)
        let path = SegmentName.path(1, in: dir.path)
        let victim = try #require(records(intact, in: 1).last)
        #expect(victim.end.offset == fileSize(path))
        if torn {
            // Still below rawLength (150), so the header is plausible: an incomplete record.
            try overwrite(path, at: victim.position.offset + 4, with: [UInt8(size(victim) + 20), 0, 0, 0])
        } else {
            try flip(path, at: victim.end.offset - 1)
        }

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(read == intact.filter { $0 != victim })
        // The next segment's records do not depend on it: nothing is flagged.
        #expect(lost.isEmpty)
        #expect(problems.map(\.position) == [victim.position])
        #expect(problems.map(\.skipped) == [size(victim)])
        if torn { #expect(problems.first?.reason.contains("torn record") == true) }

        let cuts = try Repair.cutDamage(directory: dir.path)
        #expect(
            cuts == [
                Repair.Cut(
                    segment: 1, offsets: victim.position.offset..<victim.end.offset, action: .truncated,
                    problems: problems)
            ])
        #expect(fileSize(path) == victim.position.offset)
        #expect(try Repair.verify(directory: dir.path).isEmpty)
        #expect(try readAll(dir.path).0 == read)
    }

    @Test func severalDamagedRecordsInOneSegmentCostOnlyThemselves() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let path = SegmentName.path(1, in: dir.path)
        let segment = records(intact, in: 1)
        #expect(segment.count >= 10)
        // Two neighbours with damaged payloads, and a record whose type byte is zeroed.
        try flip(path, at: segment[2].position.offset + 20)
        try flip(path, at: segment[3].position.offset + 100)
        try overwrite(path, at: segment[7].position.offset + 12, with: [0])

        let (read, lost, problems) = try readWithLosses(dir.path)
        let victims = [segment[2], segment[3], segment[7]]
        #expect(read == intact.filter { !victims.contains($0) })
        #expect(lost == [segment[4].position, segment[8].position])
        // The neighbours are one damaged span, stepped over at once.
        #expect(problems.map(\.position) == [segment[2].position, segment[7].position])
        #expect(problems.map(\.skipped) == [size(segment[2]) + size(segment[3]), size(segment[7])])
        #expect(problems.last?.cause == .recordTypeZero)
        #expect(try Repair.verify(directory: dir.path) == problems)
    }

    @Test func whenNoValidRecordFollowsTheRestOfTheSegmentIsLost() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let path = SegmentName.path(1, in: dir.path)
        let segment = records(intact, in: 1)
        let first = segment[5].position.offset
        try overwrite(path, at: first, with: [UInt8](repeating: 0, count: fileSize(path) - first))

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(read == intact.filter { $0.position.segment != 1 || $0.position.offset < first })
        #expect(lost.isEmpty)
        #expect(
            problems == [
                CorruptionError(
                    position: segment[5].position, cause: .zeroed,
                    skipped: fileSize(path) - first)
            ])
        #expect(try Repair.repair(directory: dir.path) == problems)
        #expect(fileSize(path) == first)
        #expect(try readWithLosses(dir.path).records == read)
    }

    @Test func aClosedSegmentWithABadSegmentHeaderIsSkippedAndRemovedByRepair() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let path = SegmentName.path(1, in: dir.path)
        let size = fileSize(path)
        try overwrite(path, at: 0, with: Array("XXXX".utf8))

        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(read == intact.filter { $0.position.segment != 1 })
        #expect(lost.isEmpty)
        #expect(
            problems == [
                CorruptionError(position: Position(segment: 1, offset: 0), cause: .segmentMagic, skipped: size)
            ])
        #expect(
            try Repair.cutDamage(directory: dir.path) == [
                Repair.Cut(segment: 1, offsets: 0..<size, action: .removed, problems: problems)
            ])
        #expect(try SegmentName.list(in: dir.path).contains(1) == false)
        // The segment is gone: what is left is a gap in numbering, which only verify reports.
        #expect(try Repair.verify(directory: dir.path).map(\.reason) == ["segments 00000001 to 00000001 are missing"])
        #expect(try readWithLosses(dir.path).records == read)
    }

    @Test func theNewestSegmentIsNotResyncedAndItsTornTailIsStillTruncatedOnOpen() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        for index in 0..<10 { try writer.append([sampleRecord(index * 2 + 1, size: 150)]) }
        try writer.close()
        let intact = try readAll(dir.path).0
        let path = SegmentName.path(0, in: dir.path)
        try flip(path, at: intact[4].position.offset + 40)

        // The newest segment may be one a writer is appending to: its first invalid record ends it.
        let (read, _, problems) = try readWithLosses(dir.path)
        #expect(read == Array(intact[..<4]))
        #expect(problems.map(\.position) == [intact[4].position])
        #expect(try Repair.verify(directory: dir.path).map(\.position) == [intact[4].position])
        let reopened = try LogWriter(directory: dir.path, options: .init(sync: .never))
        #expect(reopened.openRepairs.map(\.position) == [intact[4].position])
        #expect(reopened.openRepairs.map(\.skipped) == [intact[9].end.offset - intact[4].position.offset])
        try reopened.close()
        #expect(fileSize(path) == intact[4].position.offset)
    }

    @Test func repairReplacesDamageWithPaddingAndEveryRecordKeepsItsOffset() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path, count: 60)
        let one = records(intact, in: 1)
        let two = records(intact, in: 2)
        let pathOne = SegmentName.path(1, in: dir.path)
        let pathTwo = SegmentName.path(2, in: dir.path)
        let sizeOne = fileSize(pathOne)
        try flip(pathOne, at: one[2].position.offset + 30)
        try overwrite(pathOne, at: one[6].position.offset + 4, with: [0xFF, 0xFF, 0xFF, 0x00])
        try flip(pathTwo, at: two[0].position.offset)
        let before = try readWithLosses(dir.path)
        #expect(before.corruptions.count == 3)
        #expect(before.lost == [one[3].position, one[7].position, two[1].position])
        let reportBefore = try Repair.report(directory: dir.path)
        #expect(reportBefore.problems == before.corruptions)
        #expect(reportBefore.cutOut.isEmpty)

        let cuts = try Repair.cutDamage(directory: dir.path)
        let padded = [
            (1, one[2].position.offset..<one[3].position.offset),
            (1, one[6].position.offset..<one[7].position.offset),
            (2, two[0].position.offset..<two[1].position.offset),
        ]
        #expect(
            cuts
                == zip(padded, before.corruptions).map {
                    Repair.Cut(segment: $0.0.0, offsets: $0.0.1, action: .padded, problems: [$0.1])
                })
        #expect(
            cuts.first?.description.hasPrefix(
                "\(one[2].position): \(size(one[2])) bytes replaced by padding (up to offset \(one[3].position.offset)): "
                    + "checksum mismatch") == true)
        #expect(fileSize(pathOne) == sizeOne)

        // Clean, the padding listed as information, and the readers see what they saw before.
        let report = try Repair.report(directory: dir.path)
        #expect(report.problems.isEmpty)
        #expect(report.cutOut == padded.map { Repair.Cut(segment: $0.0, offsets: $0.1, action: .padded, problems: []) })
        #expect(report.cutOut.first?.description.contains("bytes cut out earlier (padding up to offset") == true)
        let after = try readWithLosses(dir.path)
        #expect(after.records == before.records)
        #expect(after.lost == before.lost)
        #expect(after.corruptions.isEmpty)
        // Reading from a stored position still finds the same record there.
        #expect(try readWithLosses(dir.path, from: one[4].position).records.first == one[4])
        #expect(try readWithLosses(dir.path, from: one[6].position).lost == [one[7].position, two[1].position])
        // Repairing again finds nothing to do.
        #expect(try Repair.cutDamage(directory: dir.path).isEmpty)

        // The live tailer sees the same records and losses.
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        var tailer = LiveTailer(writer: writer, from: .start(of: 0))
        var seen: [StoredRecord] = []
        var lost: [Position] = []
        while let record = try tailer.nextAvailable() {
            seen.append(record)
            if tailer.lostSinceLastRecord { lost.append(record.position) }
        }
        #expect(seen == before.records)
        #expect(lost == before.lost)
        #expect(tailer.corruptions.isEmpty)
        try writer.close()
    }

    /// Damage followed, less than a header further on, by something that passes for a
    /// record: no padding fits in front of it, so it is cut out with the damage.
    @Test func aDamagedSpanTooShortForAPaddingHeaderTakesTheRecordAfterItAlong() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let segment = records(intact, in: 1)
        let path = SegmentName.path(1, in: dir.path)
        let start = segment[3].position.offset
        var stray: [UInt8] = []
        var scratch: [UInt8] = []
        RecordFrame.append(Record(type: 1, payload: []), to: &stray, scratch: &scratch)
        // Five junk bytes, an empty record, then bytes no header can start with, up to segment[4].
        try overwrite(path, at: start, with: [UInt8](repeating: 0xFF, count: 5) + stray)
        try overwrite(path, at: start + 5 + stray.count, with: [UInt8](repeating: 0xFF, count: 14))

        let before = try readWithLosses(dir.path)
        let strayStored = StoredRecord(
            position: Position(segment: 1, offset: start + 5), end: Position(segment: 1, offset: start + 19),
            record: Record(type: 1, payload: []))
        #expect(
            before.records
                == intact.filter { $0 != segment[3] }.flatMap { $0 == segment[4] ? [strayStored, $0] : [$0] })
        #expect(before.lost == [strayStored.position, segment[4].position])
        #expect(before.corruptions.map(\.position.offset) == [start, start + 19])
        #expect(before.corruptions.map(\.skipped) == [5, segment[4].position.offset - start - 19])

        let cuts = try Repair.cutDamage(directory: dir.path)
        #expect(
            cuts == [
                Repair.Cut(
                    segment: 1, offsets: start..<segment[4].position.offset, action: .padded,
                    problems: before.corruptions)
            ])
        #expect(try Repair.verify(directory: dir.path).isEmpty)
        let after = try readWithLosses(dir.path)
        #expect(after.records == intact.filter { $0 != segment[3] })
        #expect(after.lost == [segment[4].position])
    }

    @Test func aSpanLongerThanOnePaddingRecordIsCoveredByAdjacentOnes() throws {
        for maxPayload in [14, 20, 100] {
            for size in 14...400 {
                let sizes = RecordFrame.paddingSizes(covering: size, maxPayload: maxPayload)
                #expect(sizes.reduce(0, +) == size)
                #expect(sizes.allSatisfy { (14...(14 + maxPayload)).contains($0) }, "\(size): \(sizes)")
                #expect(sizes.count == (size - 1) / (14 + maxPayload) + 1)
            }
        }
        #expect(RecordFrame.paddingSizes(covering: 115, maxPayload: 100) == [101, 14])
        #expect(RecordFrame.paddingSizes(covering: 14, maxPayload: 100) == [14])
        #expect(RecordFrame.paddingSizes(covering: 228, maxPayload: 100) == [114, 114])
        #expect(RecordFrame.paddingSizes(covering: 64 << 20 + 14 + 20) == [64 << 20 + 14, 20])

        // Padding written in pieces reads as one lost span.
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let segment = records(intact, in: 1)
        let span = segment[2].position.offset..<segment[5].position.offset
        let file = try SegmentFile(path: SegmentName.path(1, in: dir.path), flags: O_WRONLY)
        var offset = span.lowerBound
        for piece in RecordFrame.paddingSizes(covering: span.count, maxPayload: 100) {
            try RecordFrame.writePadding(size: piece, at: offset, to: file)
            offset += piece
        }
        let (read, lost, problems) = try readWithLosses(dir.path)
        #expect(problems.isEmpty)
        #expect(read == intact.filter { !span.contains($0.position.offset) || $0.position.segment != 1 })
        #expect(lost == [segment[5].position])
        #expect(
            try Repair.report(directory: dir.path)
                == Repair.Report(cutOut: [Repair.Cut(segment: 1, offsets: span, action: .padded, problems: [])]))
    }

    @Test func aSeekingWalkStepsOverPaddingAndStopsAtDamage() throws {
        let dir = TemporaryDirectory()
        let intact = try writeLog(dir.path)
        let segment = records(intact, in: 1)
        let path = SegmentName.path(1, in: dir.path)
        try flip(path, at: segment[2].position.offset + 30)
        _ = try Repair.cutDamage(directory: dir.path)
        try overwrite(path, at: segment[6].position.offset + 13, with: [0x80])
        var walk = try SegmentWalk(directory: dir.path, segment: 1)
        var seen: [Position] = []
        walking: while true {
            switch try walk.next(reading: { _ in true }) {
            case .record(let record): seen.append(record.position)
            case .end:
                Issue.record("the walk went past the damage")
                break walking
            case .damaged(let error):
                #expect(error.position == segment[6].position)
                break walking
            }
        }
        #expect(seen == [0, 1, 3, 4, 5].map { segment[$0].position })
    }
}
