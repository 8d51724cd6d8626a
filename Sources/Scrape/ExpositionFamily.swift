/// The metric family samples are currently read into, with what OpenMetrics validation needs.
struct ExpositionFamily {
    /// The name's bytes are the first `nameCount` of `nameStorage`, which only grows: opening a
    /// family (every few lines of a node exporter's body) copies its name in with one `memcpy`.
    private var nameStorage: [UInt8] = []
    private var nameCount = 0
    /// `nil` until a `# TYPE` line (or, in the text format, a remembered one) gives it.
    var type: ExpositionMetricType?
    var isOpen = false
    var hasSamples = false
    var hasHelp = false
    var hasUnit = false
    var hasNonEmptyUnit = false

    /// OpenMetrics: identity of the label group of the previous sample (labels without `le`,
    /// `quantile` or the stateset label), its timestamp, and all groups seen in this family.
    var currentGroup: UInt64?
    var groupTimestamp: ExpositionTimestamp?
    var seenGroups: Set<UInt64> = []
    var histogram = ExpositionHistogramCheck()

    /// Starts a new family named `name`, keeping allocated capacity.
    mutating func open(_ newName: UnsafeRawBufferPointer) {
        let count = newName.count
        if nameStorage.count < count {
            nameStorage = [UInt8](repeating: 0, count: Swift.max(64, count))
        }
        if let source = newName.baseAddress, count > 0 {
            nameStorage.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: source, byteCount: count) }
        }
        nameCount = count
        type = nil
        isOpen = true
        hasSamples = false
        hasHelp = false
        hasUnit = false
        hasNonEmptyUnit = false
        currentGroup = nil
        groupTimestamp = nil
        if !seenGroups.isEmpty { seenGroups.removeAll(keepingCapacity: true) }
        histogram = ExpositionHistogramCheck()
    }

    func nameEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        withName { ExpositionBytes.equal($0, other) }
    }

    /// Whether a text-format sample named `name` belongs to the family: its name, or the name and
    /// one of the suffixes the samples of a summary or a histogram take. (A method of the family,
    /// not of the parser: reading the family in place, not a copy of it.)
    @inline(__always)
    func admitsTextSample(named name: UnsafeRawBufferPointer) -> Bool {
        withName { familyName in
            guard ExpositionBytes.hasPrefix(name, familyName) else { return false }
            let suffix = UnsafeRawBufferPointer(rebasing: name[familyName.count...])
            if suffix.isEmpty { return true }
            switch type {
            case .summary:
                return ExpositionBytes.equal(suffix, "_sum") || ExpositionBytes.equal(suffix, "_count")
            case .histogram:
                return ExpositionBytes.equal(suffix, "_bucket") || ExpositionBytes.equal(suffix, "_sum")
                    || ExpositionBytes.equal(suffix, "_count")
            default:
                return false
            }
        }
    }

    /// Calls `body` with the family's name.
    func withName<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try nameStorage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<nameCount])) }
    }

    /// Forgets the name (a parser reset).
    mutating func clearName() { nameCount = 0 }
}
