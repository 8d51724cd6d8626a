import Testing

@testable import Scrape

@Suite struct SeriesCacheTests {
    private func fingerprint(_ text: String) -> SeriesCache.Fingerprint {
        Array(text.utf8).withUnsafeBytes { SeriesCache.Fingerprint($0) }
    }

    @Test func fingerprintsThatShareTheirTableHalfAreToldApartByTheOther() {
        var cache = SeriesCache()
        // Every form lands in one slot chain: only the high half tells them apart.
        let forms = (0..<50).map { SeriesCache.Fingerprint(low: 7, high: UInt64(1000 + $0)) }
        for (number, form) in forms.enumerated() {
            #expect(cache.index(for: form) == nil)
            #expect(cache.insert(form, length: 30, ref: UInt64(100 + number), recordBytes: 20) == number)
        }
        // Out of order, so the lookup cannot stop at the form expected next.
        for number in [31, 4, 49, 0, 17] {
            #expect(cache.index(for: forms[number]) == number)
            #expect(cache.series[number].ref == UInt64(100 + number))
        }
        #expect(cache.index(for: SeriesCache.Fingerprint(low: 7, high: 1050)) == nil)
        #expect(cache.index(for: SeriesCache.Fingerprint(low: 8, high: 1000)) == nil)
    }

    @Test func twoFormsOfOneSeriesShareItsEntry() {
        var cache = SeriesCache()
        let first = cache.insert(fingerprint("m{a=\"1\",b=\"2\"}"), length: 15, ref: 9, recordBytes: 30)
        let other = cache.insert(fingerprint("m{b=\"2\",a=\"1\"}"), length: 15, ref: 9, recordBytes: 30)
        let third = cache.insert(fingerprint("n"), length: 1, ref: 10, recordBytes: 10)
        #expect(first == other)
        #expect(third == 1)
        #expect(cache.count == 2)
        #expect(cache.index(for: fingerprint("m{b=\"2\",a=\"1\"}")) == first)
        #expect(cache.index(for: fingerprint("m{a=\"1\",b=\"3\"}")) == nil)
    }

    /// The parser asks for the form expected next by its length: the length of the form after
    /// the last one found, wherever that was found, and 0 past the last form or for a form longer
    /// than 16 bits count.
    @Test func theExpectedLengthIsThatOfTheFormAfterTheLastFound() {
        var cache = SeriesCache()
        let forms = ["a{x=\"1\"}", "bb", "c{x=\"22\"}", "d" + String(repeating: "d", count: 70_000)]
        #expect(cache.expectedLength == 0)
        for (number, form) in forms.enumerated() {
            _ = cache.insert(fingerprint(form), length: form.utf8.count, ref: UInt64(number), recordBytes: 10)
        }
        #expect(cache.expectedLength == forms[0].utf8.count)
        #expect(cache.index(for: fingerprint(forms[0])) == 0)
        #expect(cache.expectedLength == forms[1].utf8.count)
        #expect(cache.index(for: fingerprint(forms[2])) == 2)
        #expect(cache.expectedLength == 0)
        #expect(cache.index(for: fingerprint(forms[1])) == 1)
        #expect(cache.expectedLength == forms[2].utf8.count)
        #expect(cache.index(for: fingerprint(forms[3])) == 3)
        #expect(cache.expectedLength == 0)
        #expect(cache.index(for: fingerprint("zz")) == nil)
        #expect(cache.expectedLength == 0)
    }

    @Test func aFingerprintDependsOnEveryByte() {
        let base = "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"
        let bytes = Array(base.utf8)
        var seen: Set<SeriesCache.Fingerprint> = [fingerprint(base)]
        for position in bytes.indices {
            var changed = bytes
            changed[position] ^= 1
            seen.insert(changed.withUnsafeBytes { SeriesCache.Fingerprint($0) })
        }
        #expect(seen.count == bytes.count + 1)
        #expect(fingerprint(base) == fingerprint(base))
        #expect(fingerprint(base + " ") != fingerprint(base))
    }

    /// A series entry is 12 bytes and a form 22 (a fingerprint, the index of its series and its
    /// length, in three arrays); refs and record sizes up to 2³² − 1 come back whole.
    @Test func entriesAreTwelveBytesAndKeepThirtyTwoBitRefsAndSizes() {
        #expect(MemoryLayout<SeriesCache.Series>.stride == 12)
        var cache = SeriesCache()
        let index = cache.insert(fingerprint("m"), length: 1, ref: UInt64(UInt32.max), recordBytes: Int(UInt32.max))
        #expect(cache.series[index].ref == UInt64(UInt32.max))
        #expect(cache.series[index].recordBytes == Int(UInt32.max))
        #expect(cache.series[index].lastSeen == 0)
        let before = cache.mark(index, 7)
        #expect(before.lastSeen == 0)
        #expect(before.ref == UInt64(UInt32.max) && before.recordBytes == Int(UInt32.max))
        #expect(cache.series[index].lastSeen == 7)
        #expect(cache.mark(index, 8).lastSeen == 7)
        cache.clearMarks()
        #expect(cache.series[index].lastSeen == 0)
    }

    /// Series whose refs rise (what a target whose series are new to the process brings) need no
    /// index by ref; the first ref that could be in the cache makes one over every series, and
    /// from then on every series is found by it, whichever order refs come in.
    @Test func theIndexByRefIsMadeByTheFirstRefThatCouldBeKnown() {
        var cache = SeriesCache()
        for ref in 0..<300 {
            #expect(cache.insert(fingerprint("a\(ref)"), length: 4, ref: UInt64(ref * 2), recordBytes: 20) == ref)
        }
        #expect(!cache.indexesSeriesByRef)
        // Below the largest ref but not in the cache: a new series, and the index is made.
        #expect(cache.insert(fingerprint("b"), length: 1, ref: 7, recordBytes: 20) == 300)
        #expect(cache.indexesSeriesByRef)
        // Every series, those before the index and after, is found by its ref from another form.
        for ref in 0..<300 {
            #expect(cache.insert(fingerprint("c\(ref)"), length: 4, ref: UInt64(ref * 2), recordBytes: 20) == ref)
        }
        #expect(cache.insert(fingerprint("d"), length: 1, ref: 7, recordBytes: 20) == 300)
        #expect(cache.insert(fingerprint("e"), length: 1, ref: 10_000, recordBytes: 20) == 301)
        #expect(cache.insert(fingerprint("f"), length: 1, ref: 10_000, recordBytes: 20) == 301)
        #expect(cache.insert(fingerprint("g"), length: 1, ref: 9, recordBytes: 20) == 302)
        #expect(cache.count == 303)
        #expect(cache.index(for: fingerprint("c299")) == 299)
    }
}
