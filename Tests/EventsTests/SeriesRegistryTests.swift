import Primitives
import Testing

@testable import Events

@Suite struct SeriesRegistryTests {
    private func labels(_ number: Int) -> Labels {
        Labels([
            Label("__name__", "app_requests_total"), Label("route", "/api/v1/items/\(number)"),
            Label("instance", "127.0.0.1:\(20_000 + number % 500)"),
        ])
    }

    @Test func equalLabelsGetOneRefAcrossChunksAndDecodeBack() {
        var registry = SeriesRegistry()
        // About 80 bytes a series: 40,000 of them fill several chunks.
        let count = 40_000
        for number in 0..<count { #expect(registry.ref(for: labels(number)) == UInt64(number)) }
        #expect(registry.count == count)
        for number in stride(from: 0, to: count, by: 997) {
            #expect(registry.ref(for: labels(number)) == UInt64(number))
            #expect(registry.labels(UInt64(number)) == labels(number))
        }
        #expect(registry.count == count)
        #expect(registry.labels(UInt64(count)) == nil)
    }

    @Test func anEncodingLargerThanAChunkGetsOneOfItsOwn() {
        var registry = SeriesRegistry()
        let small = registry.ref(for: labels(1))
        let huge = Labels([
            Label("__name__", "big"), Label("blob", String(repeating: "x", count: SeriesRegistry.chunkSize + 10)),
        ])
        let big = registry.ref(for: huge)
        let after = registry.ref(for: labels(2))
        #expect([small, big, after] == [0, 1, 2])
        #expect(registry.labels(big) == huge)
        #expect(registry.labels(after) == labels(2))
        #expect(registry.ref(for: huge) == big)
        var encoding: [UInt8] = []
        registry.appendEncoding(after, to: &encoding)
        var reader = ByteReader(encoding)
        #expect((try? reader.labels()) == labels(2))
        #expect(reader.isAtEnd)
        var writer = ByteWriter()
        writer.labels(huge)
        encoding = []
        registry.appendEncoding(big, to: &encoding)
        #expect(encoding == writer.bytes)
    }

    /// A series is kept as its labels' numbers: the label a thousand series share takes its bytes
    /// once, so the registry keeps a few bytes a series where the labels' encoding takes dozens.
    @Test func sharedLabelsAreKeptOnceAndSeriesAsTheirNumbers() {
        var registry = SeriesRegistry()
        let count = 1000
        var writer = ByteWriter()
        for number in 0..<count {
            let labels = Labels([
                Label("__name__", "shared_family_\(number % 10)"), Label("instance", "10.1.2.3:9100"),
                Label("job", "a-job-name-seen-by-every-series"), Label("cpu", "\(number)"),
            ])
            writer.labels(labels)
            _ = registry.ref(for: labels)
        }
        let encodings = (0..<count).reduce(0) { $0 + registry.encodedLabels(UInt64($1)).encoding.count }
        #expect(encodings == writer.bytes.count)
        // A count and four numbers, each as long as the largest number the table has given (other
        // tests of the process add labels to the same table).
        let numberBytes = Varint.size(of: UInt64(LabelTable.shared.count))
        let kept = (0..<count).reduce(0) { $0 + registry.encodedLabels(UInt64($1)).byteCount }
        #expect(kept <= count * (1 + 4 * numberBytes), "\(kept) bytes for \(count) series")
        #expect(kept * 4 < writer.bytes.count, "\(kept) bytes numbered against \(writer.bytes.count) encoded")
        // Every set reads back the same through each way of reading it.
        var reader = ByteReader(writer.bytes)
        for number in 0..<count {
            let encoded = registry.encodedLabels(UInt64(number))
            let expected = try? reader.labels()
            #expect(encoded.isNumbered)
            #expect(encoded.labels == expected)
            #expect(encoded.encoding == EncodedLabels(expected ?? Labels()).encoding)
            #expect(encoded.encodesSameLabels(as: EncodedLabels(expected ?? Labels())))
        }
        #expect(!registry.encodedLabels(0).encodesSameLabels(as: registry.encodedLabels(1)))
        #expect(!registry.encodedLabels(0).encodesSameLabels(as: EncodedLabels(registry.labels(1) ?? Labels())))
    }

    /// Two registries (two logs in one process) share the one label table: a label has one
    /// number, whichever registry added it, and either reads it back.
    @Test func registriesShareTheLabelTable() {
        var first = SeriesRegistry()
        var second = SeriesRegistry()
        let labels = Labels([Label("__name__", "registries_share_the_label_table"), Label("side", "both")])
        let firstRef = first.ref(for: labels)
        let secondRef = second.ref(for: labels)
        let one = first.encodedLabels(firstRef)
        let other = second.encodedLabels(secondRef)
        #expect(one.encodesSameLabels(as: other))
        #expect(one.storedBytes.elementsEqual(other.storedBytes))
        #expect(other.labels == labels)
    }
}
