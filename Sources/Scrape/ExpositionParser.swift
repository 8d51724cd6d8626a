/// A parser for whole exposition bodies in the Prometheus text format 0.0.4 or OpenMetrics 1.0.
///
/// Works on bytes: no string per line and no allocation per sample. Each sample is handed to a
/// callback as an ``ExpositionSample`` viewing the input. The first problem ends parsing with an
/// ``ExpositionError`` carrying its line and column. In OpenMetrics every rule of the
/// specification that a parser can check is enforced (metadata placement, `# EOF`, suffixes,
/// bucket order, exemplars, …). Label values and HELP texts must be valid UTF-8, as in Prometheus.
///
/// Time is linear in the input: a label set is checked for repeated names with a hash table once
/// it is large, so a line with 100,000 labels costs no more per label than a short one.
public struct ExpositionParser {
    public let format: ExpositionFormat
    /// Limits checked while parsing: the first line past one ends parsing.
    public var limits: ExpositionLimits

    /// The 1-based number of the line being parsed.
    var lineNumber = 0
    var sampleCount = 0
    var sawEndOfFile = false
    /// The family the current samples belong to.
    var family = ExpositionFamily()
    /// Text format: flags per metric name (typed, helped, has samples). OpenMetrics: every
    /// sample name used by a finished family, to reject clashes.
    var names: ExpositionNameTable
    /// Scratch: the label names of the label set being parsed.
    var labelNames = ExpositionLabelNames()
    /// Scratch for building names.
    var scratch: [UInt8] = []

    /// - Parameter expectedNames: about how many metric names the body holds (e.g. the previous
    ///   scrape's sample count): the name table starts with room for them instead of growing.
    public init(format: ExpositionFormat, limits: ExpositionLimits = .none, expectedNames: Int = 0) {
        self.format = format
        self.limits = limits
        names = ExpositionNameTable(capacity: min(expectedNames, 1 << 16))
    }

    /// Parses a whole body; calls `onSample` per sample; throws the first error. Parsing still
    /// going at `deadline` stops with a ``ExpositionError/Kind/timedOut`` error (checked before
    /// the first line and every 1,024 lines after it).
    /// - Returns: the number of samples.
    @discardableResult
    public mutating func parse(
        _ body: UnsafeRawBufferPointer,
        deadline: ContinuousClock.Instant? = nil,
        onSample: (ExpositionSample) throws -> Void
    ) throws -> Int {
        try parse(body, deadline: deadline, lookup: { _ in nil }, expectedLength: { 0 }, onSample: onSample)
    }

    /// Parses a whole body as ``parse(_:deadline:onSample:)`` does, asking `lookup` once per
    /// sample about its series bytes (`name{labels}` as written) and handing the answer on as
    /// ``ExpositionSample/known``.
    ///
    /// In the text format a series `lookup` knows skips the checks of its label set: they depend
    /// on nothing but the bytes and this parser's limits, so `lookup` must answer only for bytes
    /// that passed them before, in a parser with the same limits (a cache of the series an earlier
    /// body of the same scrape target exposed). The end of such a label set is found by skipping
    /// its quoted values, which for valid bytes is where the checks would end it. OpenMetrics
    /// checks every label set: its rules look at the family around a sample too.
    ///
    /// `expectedLength` tells the text parser how many bytes the series `lookup` expects next
    /// takes as written (0: none). A target writes its series in the same order at every scrape,
    /// so the parser first asks `lookup` about that many bytes of the line, when what follows them
    /// can end a series there, and reads the line for its series' end only when they are not known.
    @discardableResult
    public mutating func parse(
        _ body: UnsafeRawBufferPointer,
        deadline: ContinuousClock.Instant? = nil,
        lookup: (UnsafeRawBufferPointer) -> Int?,
        expectedLength: () -> Int = { 0 },
        onSample: (ExpositionSample) throws -> Void
    ) throws -> Int {
        reset()
        if let base = body.baseAddress {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            var start = 0
            while start < body.count {
                // (The deadline is not kept in `self`: ContinuousClock.Instant is resilient, and a
                // stored one slows every line down.)
                if lineNumber & 1023 == 0, let deadline, ContinuousClock.now >= deadline {
                    throw ExpositionError(
                        line: lineNumber + 1, column: 1, message: "parsing ran past its deadline", kind: .timedOut)
                }
                let end =
                    start
                    + ExpositionBytes.firstIndex(
                        of: ExpositionBytes.newline, in: bytes + start, count: body.count - start)
                try parseLine(
                    UnsafeRawBufferPointer(start: bytes + start, count: end - start), lookup: lookup,
                    expectedLength: expectedLength, onSample: onSample)
                start = end + 1
            }
        }
        try finishInput()
        return sampleCount
    }

    /// Forgets everything about a previous body, keeping allocated capacity.
    mutating func reset() {
        lineNumber = 0
        sampleCount = 0
        sawEndOfFile = false
        family.isOpen = false
        family.clearName()
        names.removeAll()
    }

    /// Parses one line (without its newline).
    mutating func parseLine(
        _ line: UnsafeRawBufferPointer, lookup: (UnsafeRawBufferPointer) -> Int? = { _ in nil },
        expectedLength: () -> Int = { 0 }, onSample: (ExpositionSample) throws -> Void
    ) throws {
        lineNumber += 1
        switch format {
        case .prometheusText:
            var i = 0
            while i < line.count, ExpositionBytes.isBlank(line[i]) { i += 1 }
            if i == line.count { return }
            let p = line.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if p[i] == ExpositionBytes.hash {
                try parseTextComment(p, count: line.count, from: i + 1)
            } else {
                try parseSample(
                    p, count: line.count, from: i, lookup: lookup, expectedLength: expectedLength, onSample: onSample)
            }
        case .openMetrics:
            if sawEndOfFile { throw failure(at: 0, "unexpected content after \"# EOF\"") }
            guard !line.isEmpty else { throw failure(at: 0, "blank lines are not allowed in OpenMetrics") }
            let p = line.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if p[0] == ExpositionBytes.hash {
                if ExpositionBytes.equal(line, "# EOF") {
                    try closeOpenMetricsFamily()
                    sawEndOfFile = true
                } else {
                    try parseOpenMetricsMetadata(p, count: line.count)
                }
            } else {
                try parseSample(
                    p, count: line.count, from: 0, lookup: lookup, expectedLength: { 0 }, onSample: onSample)
            }
        }
    }

    /// Checks what can only be checked at the end of the input.
    mutating func finishInput() throws {
        guard format == .openMetrics else { return }
        if !sawEndOfFile {
            lineNumber += 1
            throw failure(at: 0, "missing \"# EOF\" at the end")
        }
    }

    /// An error at byte offset `offset` of the current line.
    func failure(at offset: Int, _ message: String, kind: ExpositionError.Kind = .syntax) -> ExpositionError {
        ExpositionError(line: lineNumber, column: offset + 1, message: message, kind: kind)
    }

    /// The error for byte `i` of a line where a name was expected to start or go on: a
    /// non-ASCII byte is named as such (invalid UTF-8, or a character names cannot hold). Never
    /// inlined: error paths stay out of the hot loops.
    @inline(never)
    func nameFailure(
        _ p: UnsafePointer<UInt8>, count n: Int, at i: Int, in what: String, pattern: String, otherwise message: String
    ) -> ExpositionError {
        guard i < n, p[i] >= 0x80 else { return failure(at: i, message) }
        if ExpositionBytes.firstInvalidUTF8(in: p, from: i, to: min(n, i + 4)) == i {
            return failure(at: i, "invalid UTF-8 in \(what)")
        }
        return failure(at: i, "non-ASCII character in \(what) (names are \(pattern))")
    }

    static let metricNamePattern = "[a-zA-Z_:][a-zA-Z0-9_:]*"
    static let labelNamePattern = "[a-zA-Z_][a-zA-Z0-9_]*"
}
