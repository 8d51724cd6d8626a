import Events
import Primitives

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
        /// The most bytes the series takes in a `series` record (``recordBytes(_:)``).
        var recordBytes: Int
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
    mutating func insert(_ bytes: [UInt8], hash: UInt64, ref: UInt64, recordBytes: Int) -> Int {
        let index =
            seriesByRef[ref]
            ?? {
                series.append(Series(ref: ref, recordBytes: recordBytes))
                seriesByRef[ref] = series.count - 1
                return series.count - 1
            }()
        forms.append(Form(bytes: bytes, series: index))
        if formByHash[hash] == nil {
            formByHash[hash] = forms.count - 1
        } else {
            collisions[bytes] = forms.count - 1
        }
        return index
    }

    /// The most bytes `labels` take in a `series` record: the ref (a varint of 10 bytes at most),
    /// then the label count, names and values, each length a varint (docs/wal-format.md).
    static func recordBytes(_ labels: Labels) -> Int {
        func varint(_ value: Int) -> Int { Varint.size(of: UInt64(value)) }
        var size = 10 + varint(labels.count)
        for label in labels {
            let name = label.name.utf8.count
            let value = label.value.utf8.count
            size += varint(name) + name + varint(value) + value
        }
        return size
    }

    /// Sets the mark of series `index`, returning the one it had.
    mutating func mark(_ index: Int, _ mark: UInt64) -> UInt64 {
        let before = series[index].lastSeen
        series[index].lastSeen = mark
        return before
    }
}
