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
        registry.withEncoding(after) { encoding = Array($0) }
        var reader = ByteReader(encoding)
        #expect((try? reader.labels()) == labels(2))
    }
}
