import FuzzEventLog
import FuzzSupport
import Primitives

@testable import Events
@testable import WAL

// The event decoder on record payloads, past the WAL's checksums: a record that is intact on disk
// but does not decode must be refused with an error, never trap, and must not upset the decoding
// of the records after it. An input is a sequence of records, each a type byte, a varint length
// and that many payload bytes (the last one may be cut short); type 0 stands for "a record was
// lost here" and type 255 for "a new segment starts".
//
// Every record goes through `EventDecoder.decode` (as `replay` and the forwarder read) and
// `RecordSummary.of` (as the index reads), and through a second decoder the way a seek reads
// (`advance`: series defined lazily). Checked: the labels the seek's decoder finds for a series
// are those the reading decoder decoded, and targets, membership and ownership events encode
// and decode back to themselves.

/// The records of an input, with the decoder state changes between them.
enum Step {
    case record(StoredRecord)
    case lost(segment: Int)
}

func steps(_ input: UnsafeRawBufferPointer) -> [Step] {
    var steps: [Step] = []
    var segment = 0
    var offset = 0
    while offset < input.count {
        let type = input[offset]
        offset += 1
        var length = 0
        var shift = 0
        while offset < input.count, shift < 28 {
            let byte = input[offset]
            offset += 1
            length |= Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        let end = min(offset + length, input.count)
        let payload = Array(input[offset..<end])
        switch type {
        case 0: steps.append(.lost(segment: segment))
        case 255: segment += 1
        default:
            let position = Position(segment: segment, offset: SegmentHeader.size + offset)
            let record = Record(type: type, payload: payload)
            steps.append(
                .record(
                    StoredRecord(
                        position: position, end: Position(segment: segment, offset: SegmentHeader.size + end),
                        record: record)))
        }
        offset = end
    }
    return steps
}

func testOneInput(_ input: UnsafeRawBufferPointer) {
    var reading = EventDecoder()
    var seeking = EventDecoder()
    var defined: Set<UInt64> = []
    var segment = -1
    for step in steps(input) {
        switch step {
        case .lost(let lostIn):
            reading.recordLost(in: lostIn)
            seeking.recordLost(in: lostIn)
        case .record(let record):
            if record.position.segment != segment {
                segment = record.position.segment
                defined.removeAll()
            }
            _ = try? RecordSummary.of(record)
            try? seeking.advance(record)
            guard let event = try? reading.decode(record) else { continue }
            switch event {
            case .series(let definitions):
                for definition in definitions { defined.insert(definition.ref) }
            case .samples(let batch):
                for ref in batch.refs { _ = reading.labels(for: ref) }
            case .targets(let change):
                let again = try? EventCodec.decodeTargets(EventCodec.encode(change).payload)
                fuzzCheck(again == change, "targets \(change) decode back as \(String(describing: again))")
            case .membership(let change):
                let again = try? EventCodec.decodeMembership(EventCodec.encode(change).payload)
                fuzzCheck(again == change, "membership \(change) decodes back as \(String(describing: again))")
            case .ownership(let change):
                let again = try? EventCodec.decodeOwnership(EventCodec.encode(change).payload)
                fuzzCheck(again == change, "ownership \(change) decodes back as \(String(describing: again))")
            case .checkpoint:
                break
            }
        }
    }
    // A series both decoders know has the same labels in both (refs below 256 are checked too:
    // a series record that fails part-way defines the refs before the failure).
    for ref in defined.union(0..<256) {
        guard let lazy = seeking.labels(for: ref), let eager = reading.labels(for: ref) else { continue }
        fuzzCheck(lazy == eager, "series \(ref): \(lazy) after a seek, \(eager) when read")
    }
}

/// The records of a small real log, one input per segment.
func seeds() -> [FuzzDriver.Seed] {
    let log = fuzzTemporaryDirectory + "/seed-log"
    do {
        try writeSampleEventLog(in: log)
        var inputs: [Int: [UInt8]] = [:]
        var reader = try LogReader(directory: log)
        while let record = try reader.next() {
            var bytes = [record.type]
            Varint.append(UInt64(record.payload.count), to: &bytes)
            inputs[record.position.segment, default: []] += bytes + record.payload
        }
        return inputs.sorted { $0.key < $1.key }.map { FuzzDriver.Seed("segment-\($0.key)-records", $0.value) }
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
