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

    /// One way the target writes a series (two orders of the same labels are two forms): its
    /// bytes are `arena[start..<start + count]`.
    private struct Form {
        var hash: UInt64
        var start: UInt32
        var count: UInt32
        var series: Int32
    }

    private(set) var series: [Series] = []
    private var forms: [Form] = []
    /// Every form's bytes, one after another in the order they were first seen: a scrape that
    /// exposes its series in the same order as the last reads them front to back.
    private var arena: [UInt8] = []
    /// Forms by their hash (the forms hold their hashes and bytes).
    private var formIndex = HashIndex()
    /// Series by their ref.
    private var seriesIndex = HashIndex()
    /// The form expected next: the one after the last found. Targets expose their series in
    /// the same order scrape after scrape, so most lookups end here without hashing the key
    /// into the table.
    private var expected = 0

    var count: Int { series.count }

    /// The index in `series` of the series written as `bytes`, if known.
    mutating func index(for bytes: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        if expected < forms.count, forms[expected].hash == hash, self.form(expected, equals: bytes) {
            expected += 1
            return Int(forms[expected - 1].series)
        }
        guard let form = formIndex.find(hash: hash, where: { forms[$0].hash == hash && self.form($0, equals: bytes) })
        else { return nil }
        expected = form + 1
        return Int(forms[form].series)
    }

    private func form(_ index: Int, equals bytes: UnsafeRawBufferPointer) -> Bool {
        let form = forms[index]
        guard Int(form.count) == bytes.count else { return false }
        guard form.count > 0 else { return true }
        return arena.withUnsafeBytes {
            memcmp($0.baseAddress! + Int(form.start), bytes.baseAddress!, Int(form.count)) == 0
        }
    }

    /// Sizes an empty cache for its first scrape's `forms` forms of `bytes` bytes in all, exactly:
    /// the cache keeps them for the target's life, so they get no spare capacity from growing one
    /// at a time. Later new series grow it as usual.
    mutating func reserveFirst(forms: Int, bytes: Int) {
        guard self.forms.isEmpty else { return }
        self.forms.reserveCapacity(forms)
        self.arena.reserveCapacity(bytes)
        self.series.reserveCapacity(forms)
        self.formIndex.reserveCapacity(forms) { _ in preconditionFailure("the index is empty") }
        self.seriesIndex.reserveCapacity(forms) { _ in preconditionFailure("the index is empty") }
    }

    /// Records that `bytes` name the series `ref`; returns the series' index.
    mutating func insert(_ bytes: [UInt8], hash: UInt64, ref: UInt64, recordBytes: Int) -> Int {
        precondition(arena.count + bytes.count <= Int(UInt32.max), "a target's series take under 4 GiB")
        let index: Int
        if let known = seriesIndex.find(hash: HashIndex.hash(ref), where: { series[$0].ref == ref }) {
            index = known
        } else {
            index = series.count
            series.append(Series(ref: ref, recordBytes: recordBytes))
            seriesIndex.insert(index, hash: HashIndex.hash(ref)) { [series] in HashIndex.hash(series[$0].ref) }
        }
        forms.append(Form(hash: hash, start: UInt32(arena.count), count: UInt32(bytes.count), series: Int32(index)))
        arena.append(contentsOf: bytes)
        formIndex.insert(forms.count - 1, hash: hash) { [forms] in forms[$0].hash }
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
