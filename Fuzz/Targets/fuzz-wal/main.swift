import Events
import FuzzEventLog
import FuzzSupport
import WAL

#if canImport(Glibc)
    import Glibc
#endif

// A segment file's bytes, whatever they are, through everything that reads a WAL directory:
// `LogReader` (record framing, checksums, lz4, resynchronisation past damage), `EventReader`
// (events decoded, also from a seek to a checkpoint), then `wal repair`. Checked: after a
// repair `wal verify` finds nothing, and a reader returns the same records as before it.
// The input is segment 0 twice over: once closed (an empty segment 1 follows it, so readers
// step over damage) and once the newest segment (reading ends at its first damage).

let directory = fuzzTemporaryDirectory
/// `AGENTD_FUZZ_VERBOSE=1` prints what the reader and the repair did (for replaying one input).
let verbose = getenv("AGENTD_FUZZ_VERBOSE") != nil
let segmentPaths = [SegmentName.path(0, in: directory), SegmentName.path(1, in: directory)]

/// Every record a `LogReader` returns, with where it was.
func records() -> [StoredRecord] {
    var result: [StoredRecord] = []
    do {
        var reader = try LogReader(directory: directory)
        while let record = try reader.next() { result.append(record) }
    } catch {
        fuzzCheck(false, "LogReader threw \(error)")
    }
    return result
}

/// Reads every event, as `replay` and the forwarder do; damage and undecodable records are skipped.
func readEvents(_ reader: inout EventReader) {
    do {
        while let (_, event) = try reader.next() {
            if case .samples(let batch) = event {
                for ref in batch.refs { _ = reader.labels(for: ref) }
            }
        }
    } catch {
        fuzzCheck(false, "EventReader threw \(error)")
    }
}

func check(_ segment: [UInt8], closed: Bool) {
    fuzzWriteFile(segmentPaths[0], segment)
    if closed { fuzzWriteFile(segmentPaths[1], SegmentHeader.bytes) } else { fuzzRemoveFile(segmentPaths[1]) }

    let before = records()
    var cuts: [Repair.Cut] = []
    do {
        var reader = try EventReader(directory: directory)
        readEvents(&reader)
        var seeking = try EventReader(directory: directory, segment: 0, seekingTo: 1_800_000_300_000)
        readEvents(&seeking)
        let report = try Repair.report(directory: directory)
        cuts = try Repair.cutDamage(directory: directory)
        if verbose { fuzzLog("closed: \(closed)\nreport: \(report)\ncuts: \(cuts)") }
        let left = try Repair.verify(directory: directory)
        fuzzCheck(left.isEmpty, "after a repair, verify still finds \(left)")
    } catch {
        fuzzCheck(false, "threw \(error)")
    }
    let after = records()
    if verbose { fuzzLog("before: \(before.map(\.position))\nafter: \(after.map(\.position))") }
    // A repair keeps every record readers return, except one that starts less than a record
    // header after damage (docs/wal-format.md, "Repair": the writer cannot have written it),
    // which is cut out with the damaged span.
    let kept = before.filter { record in
        !cuts.contains { $0.segment == record.position.segment && $0.offsets.contains(record.position.offset) }
    }
    fuzzCheck(
        kept == after, "a repair changed the records read from \(before.count) (\(kept.count) kept) to \(after.count)")
}

func testOneInput(_ input: UnsafeRawBufferPointer) {
    let segment = Array(input)
    check(segment, closed: true)
    check(segment, closed: false)
}

/// The segments of a small real log.
func seeds() -> [FuzzDriver.Seed] {
    let log = fuzzTemporaryDirectory + "/seed-log"
    do {
        try writeSampleEventLog(in: log)
        return try SegmentName.list(in: log).map { segment in
            FuzzDriver.Seed("segment-\(segment)", fuzzReadFile(SegmentName.path(segment, in: log)))
        }
    } catch {
        fuzzCheck(false, "writing the sample log: \(error)")
        return []
    }
}

/// libFuzzer's entry point (its own `main`, linked in but not used, refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput(fuzzInput(data, size))
    return 0
}

FuzzDriver.run(seeds: seeds, fuzzOneInput)
