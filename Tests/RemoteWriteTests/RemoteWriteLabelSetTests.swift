import Events
import TestSupport
import Testing
import WAL

@testable import RemoteWrite

@Suite struct RemoteWriteLabelSetTests {
    private func label(_ name: String, _ value: String) -> RemoteWriteLabel {
        RemoteWriteLabel(name: name, value: value)
    }

    private func baseAddress(_ labels: EncodedLabels) -> UnsafeRawPointer? {
        labels.storedBytes.baseAddress
    }

    /// `labels` as a log's series registry keeps them: numbered in the label table.
    private func numbered(_ labels: Labels, in log: EventLog) -> EncodedLabels? {
        log.encodedLabels(for: log.ref(for: labels))
    }

    /// The request one sample of `series` encodes to.
    private func request(_ series: RemoteWriteLabelSet) -> [UInt8] {
        var batch = RemoteWriteBatch(capacity: 1)
        batch.append(series, timestamp: 1_700_000_000_000, value: 1.5)
        var encoder = WriteRequestEncoder()
        encoder.encode(batch)
        return Array(encoder.bytes)
    }

    @Test func aLabelSetReadFromTheWALEncodesExactlyAsTheSameLabelsGivenPlainly() throws {
        let cases: [(labels: [Label], external: [RemoteWriteLabel])] = [
            ([Label("__name__", "up"), Label("instance", "127.0.0.1:9100"), Label("job", "node")], []),
            ([Label("__name__", "up"), Label("job", "node")], [label("cluster", "eu"), label("job", "ignored")]),
            ([Label("__name__", "m"), Label("empty", ""), Label("zone", "Zürich 🇨🇭")], []),
            ([Label("Mode", "idle"), Label("__name__", "cpu"), Label("ü", "1"), Label("z", "2")], []),
            ([], [label("replica", "a")]),
            ([], []),
            (
                [
                    Label("__name__", String(repeating: "x", count: 300)),
                    Label("v", String(repeating: "y", count: 20_000)),
                ], []
            ),
        ]
        let directory = TemporaryDirectory()
        let log = try EventLog(directory: directory.path, options: .init(sync: .never))
        defer { try? log.close() }
        for (labels, external) in cases {
            let plain = RemoteWriteLabelSet(
                labels.map { label($0.name, $0.value) }, externalLabels: external)
            let registered = try #require(numbered(Labels(labels), in: log))
            #expect(registered.isNumbered)
            // As a series record holds them, and as the log's registry holds them (numbered).
            for encoded in [EncodedLabels(Labels(labels)), registered] {
                let fromWAL = RemoteWriteLabelSet(encoded, externalLabels: external)
                #expect(fromWAL.labels == plain.labels, "\(labels)")
                #expect(fromWAL.encodedLength == plain.encodedLength, "\(labels)")
                #expect(fromWAL.shardKey == plain.shardKey, "\(labels)")
                #expect(request(fromWAL) == request(plain), "\(labels)")
                let decoded = try WriteRequestDecoder.decode(request(fromWAL))
                #expect(decoded.first?.labels == plain.labels)
            }
        }
    }

    @Test func labelsThatNeedNoChangeShareTheRecordsBytesAndOthersGetTheirOwn() throws {
        let payload = EncodedLabels(Labels([Label("__name__", "up"), Label("job", "node")]))
        let shared = RemoteWriteLabelSet(payload)
        #expect(baseAddress(shared.encodedLabels) == baseAddress(payload))

        let withExternal = RemoteWriteLabelSet(payload, externalLabels: [label("cluster", "eu")])
        #expect(baseAddress(withExternal.encodedLabels) != baseAddress(payload))
        #expect(withExternal.labels.map(\.name) == ["__name__", "cluster", "job"])

        let withEmpty = EncodedLabels(Labels([Label("__name__", "up"), Label("gone", "")]))
        let normalized = RemoteWriteLabelSet(withEmpty)
        #expect(baseAddress(normalized.encodedLabels) != baseAddress(withEmpty))
        #expect(normalized.labels == [label("__name__", "up")])

        // The registry's numbered bytes are shared the same way.
        let directory = TemporaryDirectory()
        let log = try EventLog(directory: directory.path, options: .init(sync: .never))
        defer { try? log.close() }
        let registered = try #require(numbered(Labels([Label("__name__", "up"), Label("job", "node")]), in: log))
        #expect(baseAddress(RemoteWriteLabelSet(registered).encodedLabels) == baseAddress(registered))
        #expect(RemoteWriteLabelSet(registered).encodedLabels.isNumbered)

        // Names out of byte order (an encoding no writer of this project makes): sorted, not trusted.
        let unsorted = EncodedLabels(Labels(sorted: [Label("b", "1"), Label("a", "2")]))
        #expect(RemoteWriteLabelSet(unsorted).labels == [label("a", "2"), label("b", "1")])
    }

    /// The length a label set reports is what it writes, whether it keeps it as a 16-bit
    /// difference from its WAL encoding (a few labels) or works it out when asked (tens of
    /// thousands of labels, whose difference does not fit).
    @Test func theEncodedLengthIsWhatTheLabelsWriteAtEverySize() throws {
        let directory = TemporaryDirectory()
        let log = try EventLog(directory: directory.path, options: .init(sync: .never))
        defer { try? log.close() }
        for count in [0, 1, 3, 200, 16_000, 20_000] {
            let labels = Labels((0..<count).map { Label("l\($0)", "v\($0)") })
            for encoded in [EncodedLabels(labels), try #require(numbered(labels, in: log))] {
                let set = RemoteWriteLabelSet(encoded)
                let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: set.encodedLength + 1)
                defer { buffer.deallocate() }
                #expect(
                    RemoteWriteLabelSet.write(set.entry.pointee, to: buffer, directory: .current) - buffer
                        == set.encodedLength,
                    "\(count) labels")
                #expect(try WriteRequestDecoder.decode(request(set)).first?.labels.count ?? 0 == count)
            }
        }
    }

    /// Label sets made together lie in pages of 4,096 entries of 24 bytes, numbered in the order
    /// made; each reads back as made, the same number is the same set, and a label set keeps its
    /// page alive after the pages' owner is gone (what a queued sample does after its segment's
    /// label sets are let go).
    @Test func labelSetsMadeTogetherArePagedEntriesThatOutliveTheirOwner() throws {
        #expect(MemoryLayout<RemoteWriteLabelSetEntry>.stride == 24)
        let count = RemoteWriteLabelSets.pageSize * 2 + 5
        var kept: [RemoteWriteLabelSet] = []
        var expected: [[RemoteWriteLabel]] = []
        do {
            let sets = RemoteWriteLabelSets(externalLabels: [label("cluster", "eu")])
            for number in 0..<count {
                let labels = [label("__name__", "m"), label("id", "\(number)")]
                #expect(sets.add(labels) == number)
                expected.append([label("__name__", "m"), label("cluster", "eu"), label("id", "\(number)")])
            }
            #expect(sets.count == count)
            #expect(sets[7].isSameSet(as: sets[7]))
            #expect(!sets[7].isSameSet(as: sets[8]))
            // The last entry of a page and the first of the next.
            let edge = RemoteWriteLabelSets.pageSize
            #expect(sets[edge - 1].labels == expected[edge - 1])
            #expect(sets[edge].labels == expected[edge])
            kept = [0, edge - 1, edge, count - 1].map { sets[$0] }
        }
        for (set, number) in zip(
            kept, [0, RemoteWriteLabelSets.pageSize - 1, RemoteWriteLabelSets.pageSize, count - 1])
        {
            #expect(set.labels == expected[number])
            #expect(try WriteRequestDecoder.decode(request(set)).first?.labels == expected[number])
        }
    }
}
