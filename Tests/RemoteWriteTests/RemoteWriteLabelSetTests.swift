import Events
import Testing

@testable import RemoteWrite

@Suite struct RemoteWriteLabelSetTests {
    private func label(_ name: String, _ value: String) -> RemoteWriteLabel {
        RemoteWriteLabel(name: name, value: value)
    }

    private func baseAddress(_ labels: EncodedLabels) -> UnsafeRawPointer? {
        labels.withUnsafeBytes { $0.baseAddress }
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
        for (labels, external) in cases {
            let encoded = EncodedLabels(Labels(labels))
            let fromWAL = RemoteWriteLabelSet(encoded, externalLabels: external)
            let plain = RemoteWriteLabelSet(
                labels.map { label($0.name, $0.value) }, externalLabels: external)
            #expect(fromWAL.labels == plain.labels, "\(labels)")
            #expect(fromWAL.encodedLength == plain.encodedLength, "\(labels)")
            #expect(fromWAL.shardKey == plain.shardKey, "\(labels)")
            #expect(request(fromWAL) == request(plain), "\(labels)")
            let decoded = try WriteRequestDecoder.decode(request(fromWAL))
            #expect(decoded.first?.labels == plain.labels)
        }
    }

    @Test func labelsThatNeedNoChangeShareTheRecordsBytesAndOthersGetTheirOwn() {
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

        // Names out of byte order (an encoding no writer of this project makes): sorted, not trusted.
        let unsorted = EncodedLabels(Labels(sorted: [Label("b", "1"), Label("a", "2")]))
        #expect(RemoteWriteLabelSet(unsorted).labels == [label("a", "2"), label("b", "1")])
    }

    /// The length a label set reports is what it writes, whether it keeps it as a 16-bit
    /// difference from its WAL encoding (a few labels) or works it out when asked (tens of
    /// thousands of labels, whose difference does not fit).
    @Test func theEncodedLengthIsWhatTheLabelsWriteAtEverySize() throws {
        for count in [0, 1, 3, 200, 16_000, 20_000] {
            let labels = (0..<count).map { Label("l\($0)", "v\($0)") }
            let set = RemoteWriteLabelSet(EncodedLabels(Labels(labels)))
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: set.encodedLength + 1)
            defer { buffer.deallocate() }
            #expect(set.write(to: buffer) - buffer == set.encodedLength, "\(count) labels")
            #expect(try WriteRequestDecoder.decode(request(set)).first?.labels.count ?? 0 == count)
        }
    }
}
