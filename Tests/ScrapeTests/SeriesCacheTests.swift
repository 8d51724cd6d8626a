import Testing

@testable import Scrape

@Suite struct SeriesCacheTests {
    private func find(_ cache: inout SeriesCache, _ text: String, hash: UInt64) -> Int? {
        Array(text.utf8).withUnsafeBytes { cache.index(for: $0, hash: hash) }
    }

    @Test func formsWithOneHashAreToldApartByTheirBytes() {
        var cache = SeriesCache()
        // Every form gets the same hash: only the bytes can tell them apart.
        let forms = (0..<50).map { "m{id=\"\($0)\"}" }
        for (number, form) in forms.enumerated() {
            #expect(find(&cache, form, hash: 7) == nil)
            #expect(cache.insert(Array(form.utf8), hash: 7, ref: UInt64(100 + number), recordBytes: 20) == number)
        }
        // Out of order, so the lookup cannot stop at the form expected next.
        for number in [31, 4, 49, 0, 17] {
            #expect(find(&cache, forms[number], hash: 7) == number)
            #expect(cache.series[number].ref == UInt64(100 + number))
        }
        #expect(find(&cache, "m{id=\"50\"}", hash: 7) == nil)
    }

    @Test func twoFormsOfOneSeriesShareItsEntry() {
        var cache = SeriesCache()
        let first = cache.insert(Array("m{a=\"1\",b=\"2\"}".utf8), hash: 1, ref: 9, recordBytes: 30)
        let other = cache.insert(Array("m{b=\"2\",a=\"1\"}".utf8), hash: 2, ref: 9, recordBytes: 30)
        let third = cache.insert(Array("n".utf8), hash: 3, ref: 10, recordBytes: 10)
        #expect(first == other)
        #expect(third == 1)
        #expect(cache.count == 2)
        #expect(find(&cache, "m{b=\"2\",a=\"1\"}", hash: 2) == first)
    }
}
