import Primitives
import RemoteWrite
import Testing

@Suite struct WriteRequestEncoderTests {
    private func roundTrip(_ series: [RemoteWriteSeries], external: [RemoteWriteLabel] = [], grouped: Bool = true)
        throws -> [RemoteWriteSeries]
    {
        var encoder = WriteRequestEncoder(groupsSamplesBySeries: grouped)
        encoder.encode(series, externalLabels: external)
        var snappy = Snappy()
        let compressed = encoder.withEncodedBytes { Array(snappy.compress($0)) }
        return try WriteRequestDecoder.decode(snappyCompressed: compressed)
    }

    private func label(_ name: String, _ value: String) -> RemoteWriteLabel {
        RemoteWriteLabel(name: name, value: value)
    }

    @Test func specialValuesSurviveBitExact() throws {
        let values: [Double] = [
            0, -0.0, 1, -1.5, .nan, -.nan, .infinity, -.infinity, RemoteWriteSample.staleNaN,
            Double(bitPattern: 0x7ff8_0000_0000_0001), .greatestFiniteMagnitude, .leastNonzeroMagnitude,
        ]
        let samples = values.enumerated().map { RemoteWriteSample(timestamp: 1_700_000_000_000 + Int64($0), value: $1) }
        let series = [RemoteWriteSeries(labels: [label("__name__", "up")], samples: samples)]
        let decoded = try roundTrip(series)
        #expect(decoded == series)
        #expect(decoded[0].samples.map(\.value.bitPattern) == values.map(\.bitPattern))
        #expect(decoded[0].samples[8].isStale)
    }

    @Test func timestampsBeforeTheEpochAndZeroRoundTrip() throws {
        let samples = [Int64.min, -1, 0, 1, Int64.max].map { RemoteWriteSample(timestamp: $0, value: 2) }
        let series = [RemoteWriteSeries(labels: [label("__name__", "t")], samples: samples)]
        #expect(try roundTrip(series) == series)
    }

    @Test func labelsAreSortedEmptyValuesDroppedAndUnicodeKept() throws {
        let input = RemoteWriteSeries(
            labels: [
                label("zone", "Zürich 🇨🇭"), label("__name__", "node_cpu_seconds_total"), label("empty", ""),
                label("cpu", "0"), label("Mode", "idle"),
            ],
            samples: [RemoteWriteSample(timestamp: 5, value: 1)])
        let decoded = try roundTrip([input])
        #expect(decoded[0].labels.map(\.name) == ["Mode", "__name__", "cpu", "zone"])
        #expect(decoded[0].labels.last?.value == "Zürich 🇨🇭")
    }

    /// Names and values of every length up to 70 bytes, and a few past one varint byte, each of
    /// different bytes: every field is copied whole and nothing around it is touched, whichever
    /// way its length is copied.
    @Test func namesAndValuesOfEveryLengthRoundTrip() throws {
        func text(_ length: Int, from start: Int) -> String {
            String((0..<length).map { Character(Unicode.Scalar(UInt8(0x61 + (start + $0) % 26))) })
        }
        let lengths = Array(1...70) + [126, 127, 128, 129, 300]
        let series = lengths.map { length in
            RemoteWriteSeries(
                labels: [
                    label("__name__", "m" + text(length - 1, from: length)), label("a" + text(length - 1, from: 7), ""),
                    label("b" + text(length - 1, from: 3), text(length, from: length * 5)),
                    label("c", text(length, from: 11)),
                ],
                samples: [RemoteWriteSample(timestamp: Int64(length), value: Double(length))])
        }
        let decoded = try roundTrip(series)
        let expected = series.map { input in
            RemoteWriteSeries(labels: input.labels.filter { !$0.value.isEmpty }, samples: input.samples)
        }
        #expect(decoded == expected)
    }

    @Test func externalLabelsDoNotOverrideTheSeriesOwn() throws {
        let input = RemoteWriteSeries(
            labels: [label("__name__", "up"), label("cluster", "mine"), label("region", "")],
            samples: [RemoteWriteSample(timestamp: 5, value: 1)])
        let external = [label("cluster", "global"), label("region", "eu"), label("replica", "a")]
        let decoded = try roundTrip([input], external: external)
        #expect(
            decoded[0].labels == [
                label("__name__", "up"), label("cluster", "mine"), label("region", "eu"), label("replica", "a"),
            ])
    }

    /// A batch of `(series, timestamp, value)` samples, in order.
    private static func batch(_ samples: [(RemoteWriteLabelSet, Int64, Double)]) -> RemoteWriteBatch {
        var batch = RemoteWriteBatch()
        for (series, timestamp, value) in samples { batch.append(series, timestamp: timestamp, value: value) }
        return batch
    }

    @Test func samplesOfOneSeriesAreGroupedInAppendOrder() throws {
        let a = RemoteWriteLabelSet([label("__name__", "a")])
        let b = RemoteWriteLabelSet([label("__name__", "b")])
        let batch = Self.batch([(a, 1, 10), (b, 1, 20), (a, 2, 11), (b, 2, 21)])
        var grouped = WriteRequestEncoder()
        grouped.encode(batch)
        let decoded = try WriteRequestDecoder.decode(grouped.bytes)
        #expect(decoded.map(\.labels) == [a.labels, b.labels])
        #expect(decoded[0].samples == [.init(timestamp: 1, value: 10), .init(timestamp: 2, value: 11)])
        #expect(decoded[1].samples == [.init(timestamp: 1, value: 20), .init(timestamp: 2, value: 21)])

        var single = WriteRequestEncoder(groupsSamplesBySeries: false)
        single.encode(batch)
        let separate = try WriteRequestDecoder.decode(single.bytes)
        #expect(separate.map(\.samples.count) == [1, 1, 1, 1])
        #expect(separate.map { $0.labels[0].value } == ["a", "b", "a", "b"])
        #expect(single.count > grouped.count)
    }

    /// A label set remembers its slot per request: another request (of this encoder or another)
    /// in between, with the series in another order, leaves each request grouped by its own order.
    @Test func groupingFollowsEachRequestWhenEncodersTakeTurnsOnTheSameSeries() throws {
        let a = RemoteWriteLabelSet([label("__name__", "a")])
        let b = RemoteWriteLabelSet([label("__name__", "b")])
        let first = Self.batch([(a, 1, 1), (b, 1, 2), (a, 2, 3)])
        let second = Self.batch([(b, 3, 4), (a, 3, 5), (b, 4, 6)])
        var one = WriteRequestEncoder()
        var other = WriteRequestEncoder()
        for _ in 0..<2 {
            one.encode(first)
            other.encode(second)
            let firstDecoded = try WriteRequestDecoder.decode(one.bytes)
            let secondDecoded = try WriteRequestDecoder.decode(other.bytes)
            #expect(firstDecoded.map(\.labels) == [a.labels, b.labels])
            #expect(firstDecoded.map(\.samples.count) == [2, 1])
            #expect(secondDecoded.map(\.labels) == [b.labels, a.labels])
            #expect(secondDecoded[0].samples == [.init(timestamp: 3, value: 4), .init(timestamp: 4, value: 6)])
        }
    }

    /// One encoder takes batches of every size in turn, some where every series has one sample (the
    /// encoder's identity order) and some where series repeat (its counting sort), so each request
    /// starts from work arrays a larger or differently shaped one left behind. Every request must
    /// decode to the batch grouped by series in first-appearance order, samples in append order.
    @Test func groupingMatchesAReferenceOverBatchesOfEverySizeAndShape() throws {
        let pool = (0..<40).map { RemoteWriteLabelSet([label("__name__", "s\($0)")]) }
        var random = SplitMix64(seed: 17)
        var encoder = WriteRequestEncoder()
        for round in 0..<200 {
            let size = Int.random(in: 0...60, using: &random)
            // Even rounds draw each series at most once; odd ones draw with repeats from a few.
            let picks =
                round % 2 == 0
                ? Array(pool.indices.shuffled(using: &random).prefix(size))
                : (0..<size).map { _ in Int.random(in: 0..<(1 + round % 7), using: &random) }
            let samples = picks.enumerated().map { (pool[$0.element], Int64($0.offset + 1), Double(round)) }
            var expected: [RemoteWriteSeries] = []
            var position: [Int: Int] = [:]
            for (offset, pick) in picks.enumerated() {
                let sample = RemoteWriteSample(timestamp: Int64(offset + 1), value: Double(round))
                if let at = position[pick] {
                    expected[at].samples.append(sample)
                } else {
                    position[pick] = expected.count
                    expected.append(RemoteWriteSeries(labels: pool[pick].labels, samples: [sample]))
                }
            }
            encoder.encode(Self.batch(samples))
            #expect(try WriteRequestDecoder.decode(encoder.bytes) == expected, "round \(round): \(picks)")
        }
    }

    @Test func reusingTheEncoderReplacesThePreviousRequest() throws {
        var encoder = WriteRequestEncoder()
        let big = (0..<100).map {
            RemoteWriteSeries(labels: [label("__name__", "m\($0)")], samples: [.init(timestamp: 1, value: 1)])
        }
        encoder.encode(big)
        let small = [RemoteWriteSeries(labels: [label("__name__", "x")], samples: [.init(timestamp: 2, value: 3)])]
        encoder.encode(small)
        #expect(try WriteRequestDecoder.decode(encoder.bytes) == small)
    }

    /// An idle shard frees its encoder's buffers; the next request must come out as a new
    /// encoder's would, although its label sets still remember slots of the requests before.
    @Test func anEncoderWhoseBuffersWereReleasedEncodesAsANewOne() throws {
        let pool = (0..<30).map { RemoteWriteLabelSet([label("__name__", "s\($0)"), label("job", "j")]) }
        let before = Self.batch((0..<90).map { (pool[$0 % 30], Int64($0), Double($0)) })
        let after = Self.batch((0..<40).map { (pool[(7 * $0) % 11], Int64(100 + $0), -Double($0)) })
        var encoder = WriteRequestEncoder()
        encoder.encode(before)
        encoder.releaseBuffers()
        #expect(encoder.count == 0)
        #expect(encoder.bytes.isEmpty)
        encoder.encode(after)
        var fresh = WriteRequestEncoder()
        fresh.encode(after)
        #expect(Array(encoder.bytes) == Array(fresh.bytes))
        // 40 samples over 11 series in turn: the first 7 series have 4 samples, the other 4 have 3.
        let counts = try WriteRequestDecoder.decode(encoder.bytes).map(\.samples.count)
        #expect(counts == [4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3])
    }

    @Test func anEmptyBatchEncodesAnEmptyRequest() throws {
        var encoder = WriteRequestEncoder()
        encoder.encode(RemoteWriteBatch())
        #expect(encoder.count == 0)
        #expect(try WriteRequestDecoder.decode(encoder.bytes).isEmpty)
    }
}

@Suite struct WriteRequestDecoderTests {
    private func sampleRequest() -> [UInt8] {
        var encoder = WriteRequestEncoder()
        encoder.encode([
            RemoteWriteSeries(
                labels: [.init(name: "__name__", value: "up"), .init(name: "job", value: "node")],
                samples: [
                    .init(timestamp: 1_700_000_000_000, value: 1), .init(timestamp: 1_700_000_015_000, value: 0.5),
                ]
            )
        ])
        return Array(encoder.bytes)
    }

    @Test func everyTruncationIsRejectedWithAnOffsetInsideTheMessage() {
        let bytes = sampleRequest()
        for length in 1..<bytes.count {
            #expect(throws: WriteRequestDecodingError.self) {
                _ = try WriteRequestDecoder.decode(bytes[0..<length])
            }
            do {
                _ = try WriteRequestDecoder.decode(bytes[0..<length])
            } catch {
                #expect(error.offset <= length, "\(error)")
            }
        }
    }

    @Test func aLengthPastTheEndNamesItsOffset() {
        // TimeSeries (field 1, wire type 2) announcing 100 bytes with 2 present.
        let bytes: [UInt8] = [0x0a, 100, 0x0a, 0x00]
        #expect(throws: WriteRequestDecodingError(offset: 1, reason: .lengthOutOfBounds(length: 100, available: 2))) {
            try WriteRequestDecoder.decode(bytes)
        }
    }

    @Test func aKnownFieldWithTheWrongWireTypeIsRejected() {
        // WriteRequest field 1 as a varint.
        #expect(throws: WriteRequestDecodingError(offset: 0, reason: .unexpectedWireType(field: 1, in: "WriteRequest")))
        {
            try WriteRequestDecoder.decode([0x08, 0x01])
        }
    }

    @Test func invalidUTF8InALabelIsRejected() {
        // TimeSeries { Label { name = "\xff" } }
        let bytes: [UInt8] = [0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff]
        #expect(throws: WriteRequestDecodingError(offset: 6, reason: .invalidUTF8)) {
            try WriteRequestDecoder.decode(bytes)
        }
    }

    @Test func unknownFieldsSuchAsMetadataAreSkipped() throws {
        // metadata (field 3) with 2 bytes, then the regular request.
        let bytes: [UInt8] = [0x1a, 0x02, 0x08, 0x01] + sampleRequest()
        #expect(try WriteRequestDecoder.decode(bytes) == WriteRequestDecoder.decode(sampleRequest()))
    }
}

@Suite struct SnappyTests {
    @Test func compressedBlocksRoundTrip() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251 ^ $0 / 7) }
        var snappy = Snappy()
        let compressed = input.withUnsafeBytes { Array(snappy.compress($0)) }
        #expect(compressed.count < input.count)
        #expect(try Snappy.uncompress(compressed) == input)
    }

    @Test func corruptAndOversizedBlocksAreRejected() throws {
        var snappy = Snappy()
        let compressed = Array(repeating: UInt8(7), count: 1000).withUnsafeBytes { Array(snappy.compress($0)) }
        #expect(throws: SnappyError.self) { try Snappy.uncompress(compressed.dropLast(2)) }
        #expect(throws: SnappyError.self) { try Snappy.uncompress([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }
        #expect(
            throws: SnappyError(
                reason: .tooLarge(uncompressedLength: 1000, limit: 10), compressedLength: compressed.count)
        ) {
            try Snappy.uncompress(compressed, limit: 10)
        }
    }
}
