import TestSupport
import Testing

@testable import Events
@testable import WAL

@Suite(.timeLimit(.minutes(1))) struct SharedSeriesLabelsTests {
    private func address(_ labels: EncodedLabels) -> UnsafeRawPointer? {
        labels.storedBytes.baseAddress
    }

    @Test func aFollowerTakesEachSeriesWhenDefinedAndTheLogSharesItsOwnBytes() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let labels = (0..<3).map { Labels(["__name__": "m", "id": "\($0)"]) }
        let refs = log.refs(for: labels)
        try await log.append(SampleBatch(target: 1, timestamp: 1000, refs: refs, values: [1, 2, 3]))
        var tailer = EventTailer(log: log, from: .start(of: log.writer.end.segment))
        var handed: [(segment: Int, definitions: [SeriesEncoding])] = []
        let next = try await tailer.next { handed.append(($0, $1)) }
        guard case .samples(let batch)? = next?.event else {
            Issue.record("expected the samples record, read \(String(describing: next?.event))")
            return
        }
        #expect(batch.refs == refs)
        #expect(handed.count == 1)
        #expect(handed.first?.definitions.map(\.ref) == refs)
        #expect(handed.first?.definitions.map(\.labels.labels) == labels)
        // The reader kept nothing of the record.
        #expect(tailer.labels(for: refs[0]) == nil)
        #expect(tailer.encodedLabels(for: refs[0]) == nil)

        // The log gives its registry's own bytes for the series of its own segment.
        let segment = handed[0].segment
        let shared = log.sharedLabels(handed[0].definitions, in: segment)
        for (index, encoded) in shared.enumerated() {
            #expect(encoded?.labels == labels[index])
            #expect(encoded?.isNumbered == true)
            #expect(encoded.flatMap(address) != address(handed[0].definitions[index].labels))
        }
        // Not for a definition whose bytes are not the registry's for that ref.
        let wrong = SeriesEncoding(ref: refs[0], labels: EncodedLabels(labels[1]))
        #expect(log.sharedLabels([wrong], in: segment).map { $0 == nil } == [true])
        try log.close()

        // Another log over the directory: the first log's segment is not its own, whatever its refs.
        let reopened = try EventLog(directory: dir.path, options: .init(sync: .never))
        #expect(reopened.refs(for: labels) == refs)
        #expect(reopened.sharedLabels(handed[0].definitions, in: segment).map { $0 == nil } == [true, true, true])
        try reopened.close()
    }

    /// A `series` record defining `refs`, as the log writes one, at `segment`.
    private func seriesRecord(_ refs: [UInt64], segment: Int) -> StoredRecord {
        var writer = ByteWriter()
        for ref in refs {
            writer.varint(ref)
            writer.labels(Labels(["__name__": "m", "ref": "\(ref)"]))
        }
        let position = Position(segment: segment, offset: SegmentHeader.size)
        return StoredRecord(
            position: position, end: position, record: Record(type: EventKind.series.rawValue, payload: writer.bytes))
    }

    /// A decoder that hands every definition over keeps no labels per ref (its label arrays stay
    /// empty); once a lazy or decoded definition makes them grow, a ref handed over still answers
    /// nil, in its segment and after a later segment defined it another way.
    @Test func definitionsHandedOverNeverAnswerLabelsWhateverCameBefore() throws {
        let labels = { (ref: UInt64) in Labels(["__name__": "m", "ref": "\(ref)"]) }
        var decoder = EventDecoder()
        try decoder.define(seriesRecord([0, 1, 2], segment: 1)) { _ in }
        #expect((0...2).map { decoder.labels(for: $0) } == [nil, nil, nil])

        try decoder.defineLazily(seriesRecord([5], segment: 1))
        #expect(decoder.labels(for: 5) == labels(5))
        #expect(decoder.encodedLabels(for: 5)?.labels == labels(5))
        #expect(decoder.labels(for: 0) == nil)
        #expect(decoder.encodedLabels(for: 0) == nil)

        // Segment 2: ref 1 decoded with its labels, ref 5 (lazy before) handed over.
        _ = try decoder.decode(seriesRecord([1], segment: 2))
        try decoder.define(seriesRecord([5, 9], segment: 2)) { _ in }
        #expect(decoder.labels(for: 1) == labels(1))
        #expect(decoder.labels(for: 5) == nil)
        #expect(decoder.encodedLabels(for: 5) == nil)
        #expect(decoder.labels(for: 9) == nil)
        #expect(decoder.labels(for: 0) == nil, "defined in segment 1 only")
    }
}
