import Events

#if canImport(Glibc)
    import Glibc
#endif

/// One target's series, found by the bytes the target writes for them (`name{labels}`), so
/// that a known series costs a hash and a comparison, not a label parse. Each series also
/// carries the mark of the last scrape that exposed it, which is how the scrape loop finds
/// repeated series, new series and vanished ones without a set per scrape.
struct SeriesCache {
    struct Series {
        var ref: UInt64
        /// The mark of the last scrape that exposed the series (0: none yet).
        var lastSeen: UInt64 = 0
    }

    /// One way the target writes a series (two orders of the same labels are two forms).
    private struct Form {
        var bytes: [UInt8]
        var series: Int
    }

    private(set) var series: [Series] = []
    private var forms: [Form] = []
    private var formByHash: [UInt64: Int] = [:]
    /// Forms whose hash collides with another's: keyed by their full bytes.
    private var collisions: [[UInt8]: Int] = [:]
    private var seriesByRef: [UInt64: Int] = [:]

    var count: Int { series.count }

    /// The index in `series` of the series written as `bytes`, if known.
    func index(for bytes: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        guard let form = formByHash[hash] else { return nil }
        let same = forms[form].bytes.withUnsafeBytes { stored in
            stored.count == bytes.count
                && (bytes.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        }
        if same { return forms[form].series }
        return collisions[Array(bytes)].map { forms[$0].series }
    }

    /// Records that `bytes` name the series `ref`; returns the series' index.
    mutating func insert(_ bytes: UnsafeRawBufferPointer, hash: UInt64, ref: UInt64) -> Int {
        let index =
            seriesByRef[ref]
            ?? {
                series.append(Series(ref: ref))
                seriesByRef[ref] = series.count - 1
                return series.count - 1
            }()
        forms.append(Form(bytes: Array(bytes), series: index))
        if formByHash[hash] == nil {
            formByHash[hash] = forms.count - 1
        } else {
            collisions[Array(bytes)] = forms.count - 1
        }
        return index
    }

    /// Sets the mark of series `index`, returning the one it had.
    mutating func mark(_ index: Int, _ mark: UInt64) -> UInt64 {
        let before = series[index].lastSeen
        series[index].lastSeen = mark
        return before
    }
}
