import Events
import Primitives

/// One target's series, found by a 128-bit fingerprint of the bytes the target writes for them
/// (`name{labels}`, see ``Fingerprint``), so that a known series costs a hash and two
/// comparisons, not a label parse. Each series also carries the mark of the last scrape that
/// exposed it, which is how the scrape loop finds repeated series, new series and vanished ones
/// without a set per scrape.
///
/// The cache keeps fingerprints, not the written bytes: 16 bytes a form instead of the 60–100 a
/// line's series takes. Two forms of one target would have to share all 128 bits to be taken for
/// each other (about 6 × 10⁻³³ for a target of two thousand series), and the hash is seeded at
/// random per process, so a target cannot aim at a collision; even one would only mix two of that
/// target's own series.
struct SeriesCache {
    /// XXH3-128 of a series' written bytes, seeded per process: the low half places it in the
    /// table, the whole identifies it.
    struct Fingerprint: Hashable {
        var low: UInt64
        var high: UInt64

        static let seed = UInt64.random(in: .min ... .max)

        init(_ bytes: UnsafeRawBufferPointer) {
            self.init(bytes, seed: Self.seed)
        }

        /// The fingerprint with `seed`, which must be ``seed``: for a caller that read it once.
        @inline(__always)
        init(_ bytes: UnsafeRawBufferPointer, seed: UInt64) {
            (low, high) = XXH3.hash128(bytes, seed: seed)
        }

        init(low: UInt64, high: UInt64) {
            self.low = low
            self.high = high
        }
    }

    /// 12 bytes: refs and record sizes are far below 2³² (a series takes more than 100 bytes in
    /// the registry, and a record is bounded by the scrape's record limit), and so are the marks
    /// of a target's scrapes (``ScrapeEngine`` starts them over before they wrap).
    struct Series {
        private var storedRef: UInt32
        private var storedRecordBytes: UInt32
        /// The mark of the last scrape that exposed the series (0: none yet).
        var lastSeen: UInt32 = 0

        var ref: UInt64 { UInt64(storedRef) }
        /// The most bytes the series takes in a `series` record (``recordBytes(_:)``).
        var recordBytes: Int { Int(storedRecordBytes) }

        init(ref: UInt64, recordBytes: Int) {
            precondition(ref <= UInt32.max && recordBytes <= UInt32.max, "series refs and record sizes fit 32 bits")
            storedRef = UInt32(truncatingIfNeeded: ref)
            storedRecordBytes = UInt32(truncatingIfNeeded: recordBytes)
        }
    }

    private(set) var series: [Series] = []
    /// The ways the target writes its series (two orders of the same labels are two forms), in
    /// the order they were first seen: a scrape that exposes its series in the same order as the
    /// last finds them front to back. Three arrays, so that a form takes 22 bytes, not a padded
    /// 24: fingerprints, the index in `series` each names, and the form's length (0: more than
    /// `UInt16.max` bytes), which lets the parser ask about the form expected next before it has
    /// found where a line's series ends.
    private var formFingerprints: [Fingerprint] = []
    private var formSeries: [Int32] = []
    private var formLengths: [UInt16] = []
    /// Forms by the low half of their fingerprints.
    private var formIndex = HashIndex()
    /// Series by their ref, made when first needed: a ref above every ref in the cache cannot be
    /// in it, and the registry hands out refs in increasing order, so a target whose series are
    /// new to the process (its first scrape, and every new series since) never needs one. Those
    /// that do are targets whose cache starts over with series the process knows already (the
    /// target gone and back, its ownership moved back) and targets that write a series two ways.
    /// 8 bytes a series less for the rest (4,096 slots of 4 bytes for 2,000 series).
    private var seriesIndex: HashIndex?
    /// The largest ref in `series`.
    private var largestRef: UInt64 = 0
    /// The form expected next: the one after the last found. Targets expose their series in
    /// the same order scrape after scrape, so most lookups end here without hashing the key
    /// into the table.
    private var expected = 0
    /// ``Fingerprint/seed``, read once: a global's every read checks that it is initialized.
    private let seed = Fingerprint.seed

    /// The fingerprint of a series written as `bytes`.
    @inline(__always)
    func fingerprint(of bytes: UnsafeRawBufferPointer) -> Fingerprint { Fingerprint(bytes, seed: seed) }

    var count: Int { series.count }

    /// How many bytes the form expected next takes as written, or 0 when no form is expected.
    var expectedLength: Int { expected < formLengths.count ? Int(formLengths[expected]) : 0 }

    /// The index in `series` of the series whose written form has `fingerprint`, if known.
    mutating func index(for fingerprint: Fingerprint) -> Int? {
        if expected < formFingerprints.count, formFingerprints[expected] == fingerprint {
            expected += 1
            return Int(formSeries[expected - 1])
        }
        guard let form = formIndex.find(hash: fingerprint.low, where: { formFingerprints[$0] == fingerprint })
        else { return nil }
        expected = form + 1
        return Int(formSeries[form])
    }

    /// Sizes an empty cache for its first scrape's `forms` forms, exactly: the cache keeps them
    /// for the target's life, so they get no spare capacity from growing one at a time. Later new
    /// series grow it as usual.
    mutating func reserveFirst(forms: Int) {
        guard formFingerprints.isEmpty else { return }
        formFingerprints.reserveCapacity(forms)
        formSeries.reserveCapacity(forms)
        formLengths.reserveCapacity(forms)
        self.series.reserveCapacity(forms)
        self.formIndex.reserveCapacity(forms) { _ in preconditionFailure("the index is empty") }
    }

    /// Records that the form of `length` bytes with `fingerprint` names the series `ref`; returns
    /// the series' index.
    mutating func insert(_ fingerprint: Fingerprint, length: Int, ref: UInt64, recordBytes: Int) -> Int {
        let index: Int
        if let known = knownIndex(of: ref) {
            index = known
        } else {
            index = series.count
            series.append(Series(ref: ref, recordBytes: recordBytes))
            largestRef = Swift.max(largestRef, ref)
            seriesIndex?.insert(index, hash: HashIndex.hash(ref)) { [series] in HashIndex.hash(series[$0].ref) }
        }
        formFingerprints.append(fingerprint)
        formSeries.append(Int32(index))
        formLengths.append(length <= Int(UInt16.max) ? UInt16(length) : 0)
        formIndex.insert(formFingerprints.count - 1, hash: fingerprint.low) { [formFingerprints] in
            formFingerprints[$0].low
        }
        return index
    }

    /// The index of the series `ref` if the cache holds it. The index by ref is made (over every
    /// series) by the first ref that could be in the cache: one not above all of its refs.
    private mutating func knownIndex(of ref: UInt64) -> Int? {
        if series.isEmpty || ref > largestRef { return nil }
        if seriesIndex == nil {
            var index = HashIndex()
            index.reserveCapacity(series.count + 1) { [series] in HashIndex.hash(series[$0].ref) }
            for (position, entry) in series.enumerated() {
                index.insert(position, hash: HashIndex.hash(entry.ref)) { [series] in HashIndex.hash(series[$0].ref) }
            }
            seriesIndex = index
        }
        return seriesIndex!.find(hash: HashIndex.hash(ref), where: { series[$0].ref == ref })
    }

    /// Whether the cache has made its index of series by ref (tests).
    var indexesSeriesByRef: Bool { seriesIndex != nil }

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

    /// Sets the mark of series `index`, returning the series as it was (with the mark it had), so
    /// the caller reads its ref and record size without looking it up again.
    mutating func mark(_ index: Int, _ mark: UInt32) -> Series {
        let before = series[index]
        series[index].lastSeen = mark
        return before
    }

    /// Clears every series' mark (to 0, none yet): for marks that start over.
    mutating func clearMarks() {
        for index in series.indices { series[index].lastSeen = 0 }
    }
}
