/// What a label set told the parser, beyond its syntax being valid.
struct ExpositionLabelSummary {
    /// Order-independent identity of the labels other than the special one (OpenMetrics only).
    var groupHash: UInt64 = 0
    /// Offsets of the raw value of the special label (`le`, `quantile`, the stateset label).
    var specialStart = -1
    var specialEnd = -1
    /// Characters in the names and unescaped values (exemplars only).
    var characters = 0
}

/// The label whose value a sample's role makes special.
enum ExpositionSpecialLabel {
    case none, le, quantile, familyName
}

/// Sample lines, common to both formats.
extension ExpositionParser {
    mutating func parseSample(
        _ p: UnsafePointer<UInt8>,
        count n: Int,
        from start: Int,
        lookup: (UnsafeRawBufferPointer) -> Int?,
        expectedLength: () -> Int,
        onSample: (ExpositionSample) throws -> Void
    ) throws {
        let openMetrics = format == .openMetrics
        if limits.samples > 0 && sampleCount >= limits.samples {
            throw failure(
                at: start, "sample limit exceeded: more than \(limits.samples) samples", kind: .sampleLimit)
        }
        var i = start
        let name: UnsafeRawBufferPointer
        let role: ExpositionSampleRole
        var labels = ExpositionLabelSummary()
        let hasLabels: Bool
        var known: Int?
        // The end of the bytes `lookup` was asked about and did not know, if any.
        var unknownEnd = -1
        if !openMetrics,
            let hit = expectedTextSeries(
                p, count: n, from: start, length: expectedLength(), lookup: lookup, unknownEnd: &unknownEnd)
                ?? knownTextSeries(p, count: n, from: start, lookup: lookup, unknownEnd: &unknownEnd)
        {
            (name, hasLabels, known, i) = (hit.name, hit.hasLabels, hit.index, hit.end)
            role = ExpositionSampleRole(type: textType(of: name), suffix: .none)
        } else {
            guard i < n, ExpositionBytes.isMetricNameStart(p[i]) else {
                throw nameFailure(
                    p, count: n, at: i, in: "metric name", pattern: Self.metricNamePattern,
                    otherwise: "expected a metric name")
            }
            i += 1
            while i < n, ExpositionBytes.isMetricNameCharacter(p[i]) { i += 1 }
            name = UnsafeRawBufferPointer(start: p + start, count: i - start)
            try checkNameLimits(name, at: start)
            if openMetrics {
                role = try openMetricsRole(of: name)
            } else {
                role = ExpositionSampleRole(type: textType(of: name), suffix: .none)
            }

            var brace = i
            if !openMetrics {
                while brace < n, ExpositionBytes.isBlank(p[brace]) { brace += 1 }
            }
            hasLabels = brace < n && p[brace] == ExpositionBytes.openBrace
            var asked = false
            if hasLabels {
                i = brace
                if !openMetrics, let end = ExpositionBytes.labelSetEnd(in: p, from: brace, count: n) {
                    // Bytes the caller knows passed the checks below when it first saw them.
                    if end != unknownEnd {
                        known = lookup(UnsafeRawBufferPointer(start: p + start, count: end - start))
                    }
                    asked = true
                    if known != nil { i = end }
                }
                if known == nil {
                    labels = try parseLabelSet(
                        p, count: n, at: &i, special: openMetrics ? role.specialLabel : .none, metricName: name)
                }
            }
            if !asked && i != unknownEnd { known = lookup(UnsafeRawBufferPointer(start: p + start, count: i - start)) }
        }
        let series = UnsafeRawBufferPointer(start: p + start, count: i - start)

        if openMetrics {
            guard i < n, p[i] == ExpositionBytes.space else {
                if i < n && !hasLabels {
                    throw nameFailure(
                        p, count: n, at: i, in: "metric name", pattern: Self.metricNamePattern,
                        otherwise: "invalid character in metric name")
                }
                throw failure(at: i, i == n ? "expected a value" : "expected a space before the value")
            }
            i += 1
        } else {
            guard i < n, hasLabels || ExpositionBytes.isBlank(p[i]) else {
                if i == n { throw failure(at: i, "expected a value") }
                throw nameFailure(
                    p, count: n, at: i, in: "metric name", pattern: Self.metricNamePattern,
                    otherwise: "invalid character in metric name")
            }
            while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
        }
        let valueStart = i
        if openMetrics {
            while i < n, p[i] != ExpositionBytes.space { i += 1 }
        } else {
            while i < n, !ExpositionBytes.isBlank(p[i]) { i += 1 }
        }
        guard i > valueStart else { throw failure(at: valueStart, "expected a value") }
        guard let value = ExpositionNumber.parseFloat(p + valueStart, count: i - valueStart) else {
            let text = UnsafeRawBufferPointer(start: p + valueStart, count: i - valueStart)
            throw failure(at: valueStart, "invalid value \(ExpositionBytes.quoted(text))")
        }

        var timestamp: Int64?
        if openMetrics {
            let tail = try parseOpenMetricsTail(p, count: n, at: i)
            try validateOpenMetricsSample(
                p, role: role, labels: labels, value: value, timestamp: tail.timestamp,
                exemplarOffset: tail.exemplarOffset, valueOffset: valueStart)
            timestamp = tail.timestamp?.milliseconds
        } else {
            while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
            if i < n {
                let timestampStart = i
                while i < n, !ExpositionBytes.isBlank(p[i]) { i += 1 }
                guard
                    let milliseconds = ExpositionNumber.parseMilliseconds(p + timestampStart, count: i - timestampStart)
                else {
                    let text = UnsafeRawBufferPointer(start: p + timestampStart, count: i - timestampStart)
                    throw failure(at: timestampStart, "invalid timestamp \(ExpositionBytes.quoted(text))")
                }
                timestamp = milliseconds
                while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
                guard i == n else { throw failure(at: i, "unexpected text after the timestamp") }
            }
        }
        sampleCount += 1
        try onSample(
            ExpositionSample(
                seriesBytes: series, value: value, timestamp: timestamp, type: role.type, line: lineNumber,
                known: known, nameLength: name.count))
    }

    /// The series of a text-format sample line when it is the one the caller expects next, as
    /// `length` bytes: they are looked up when what follows them can end a series (they end a
    /// label set, or a blank follows a name and no label set comes after it). Known bytes that end
    /// there are the series: parsing the line reads the same bytes as when they were first seen,
    /// so it ends its series where they end. Bytes looked up and not known leave their end in
    /// `unknownEnd`.
    @inline(__always)
    private func expectedTextSeries(
        _ p: UnsafePointer<UInt8>, count n: Int, from start: Int, length: Int,
        lookup: (UnsafeRawBufferPointer) -> Int?, unknownEnd: inout Int
    ) -> (name: UnsafeRawBufferPointer, hasLabels: Bool, index: Int, end: Int)? {
        guard length > 0, length < n - start else { return nil }
        let end = start + length
        let hasLabels = p[end - 1] == ExpositionBytes.closeBrace
        // A name: a blank ends it, and no label set may follow (`name {…}`).
        if !hasLabels, !ExpositionBytes.isBlank(p[end]) || Self.labelSetFollows(p, count: n, blanksFrom: end) {
            return nil
        }
        guard let index = lookup(UnsafeRawBufferPointer(start: p + start, count: length)) else {
            unknownEnd = end
            return nil
        }
        guard hasLabels else { return (UnsafeRawBufferPointer(start: p + start, count: length), false, index, end) }
        var seen: UInt64 = 0
        let stop = ExpositionBytes.firstOf(
            ExpositionBytes.openBrace, ExpositionBytes.space, in: p, from: start, count: end, seen: &seen)
        return (Self.knownName(p, from: start, stop: stop), true, index, end)
    }

    /// The series of a text-format sample line when the caller's `lookup` knows its bytes, found
    /// before any check: the name's end is the first `{` or space (eight bytes at a time), the
    /// label set's end is found by skipping quoted values. The caller knows only bytes that passed
    /// every check below, with the same limits, when it first saw them, so a known series needs
    /// none of them. Bytes it does not know (a new series, or `name\tvalue` cut at the wrong place)
    /// leave their end in `unknownEnd`, and bytes that already ended there are not asked about
    /// again; a line with a space before its `{` is not looked up here. Either way the line is then
    /// parsed in full.
    @inline(__always)
    private func knownTextSeries(
        _ p: UnsafePointer<UInt8>, count n: Int, from start: Int, lookup: (UnsafeRawBufferPointer) -> Int?,
        unknownEnd: inout Int
    ) -> (name: UnsafeRawBufferPointer, hasLabels: Bool, index: Int, end: Int)? {
        var seen: UInt64 = 0
        let stop = ExpositionBytes.firstOf(
            ExpositionBytes.openBrace, ExpositionBytes.space, in: p, from: start, count: n, seen: &seen)
        let hasLabels = stop < n && p[stop] == ExpositionBytes.openBrace
        // A space, then labels after all (`name {…}`): not cut here.
        if !hasLabels, Self.labelSetFollows(p, count: n, blanksFrom: stop) { return nil }
        guard let end = hasLabels ? ExpositionBytes.labelSetEnd(in: p, from: stop, count: n) : stop, end > start,
            end != unknownEnd
        else { return nil }
        guard let index = lookup(UnsafeRawBufferPointer(start: p + start, count: end - start)) else {
            unknownEnd = end
            return nil
        }
        return (Self.knownName(p, from: start, stop: stop), hasLabels, index, end)
    }

    /// Whether a label set comes after the blanks from `i` on (`name {…}`): the quick paths leave
    /// such a line to the full parse.
    @inline(__always)
    private static func labelSetFollows(_ p: UnsafePointer<UInt8>, count n: Int, blanksFrom i: Int) -> Bool {
        var next = i
        while next < n, ExpositionBytes.isBlank(p[next]) { next += 1 }
        return next < n && p[next] == ExpositionBytes.openBrace
    }

    /// The metric name of known bytes from `start` whose name search stopped at `stop` (the first
    /// `{` or space): known bytes are a valid name, then blanks (tabs, when a `{` ended the
    /// search), then labels.
    @inline(__always)
    private static func knownName(_ p: UnsafePointer<UInt8>, from start: Int, stop: Int) -> UnsafeRawBufferPointer {
        var nameEnd = stop
        while nameEnd > start, ExpositionBytes.isBlank(p[nameEnd - 1]) { nameEnd -= 1 }
        return UnsafeRawBufferPointer(start: p + start, count: nameEnd - start)
    }

    /// The length limits on a metric name, which Prometheus holds as the value of the label
    /// `__name__` (8 bytes of name).
    @inline(__always)
    private func checkNameLimits(_ name: UnsafeRawBufferPointer, at start: Int) throws {
        if limits.labelValueLength > 0 && name.count > limits.labelValueLength
            || limits.labelNameLength > 0 && 8 > limits.labelNameLength
        {
            throw nameLimitFailure(name, at: start)
        }
    }

    @inline(never)
    private func nameLimitFailure(_ name: UnsafeRawBufferPointer, at start: Int) -> ExpositionError {
        if limits.labelValueLength > 0 && name.count > limits.labelValueLength {
            return failure(
                at: start,
                "label value length limit exceeded: metric name \(ExpositionBytes.quoted(name)) is \(name.count) "
                    + "bytes, more than \(limits.labelValueLength)",
                kind: .labelValueLengthLimit)
        }
        return failure(
            at: start, "label name length limit exceeded: \"__name__\" is 8 bytes, more than \(limits.labelNameLength)",
            kind: .labelNameLengthLimit)
    }

    /// The error for a label past a limit (`length`: of its name or unescaped value). Never inlined.
    @inline(never)
    private func labelLimitFailure(
        _ kind: ExpositionError.Kind, at offset: Int, label: UnsafeRawBufferPointer, length: Int,
        metricName: UnsafeRawBufferPointer
    ) -> ExpositionError {
        switch kind {
        case .labelLimit:
            return failure(
                at: offset,
                "label limit exceeded: \(ExpositionBytes.quoted(metricName)) has more than \(limits.labels) labels "
                    + "(the metric name included)",
                kind: kind)
        case .labelNameLengthLimit:
            return failure(
                at: offset,
                "label name length limit exceeded: \(ExpositionBytes.quoted(label)) is \(length) bytes, more than "
                    + "\(limits.labelNameLength)",
                kind: kind)
        default:
            return failure(
                at: offset,
                "label value length limit exceeded: the value of \(ExpositionBytes.quoted(label)) is \(length) bytes, "
                    + "more than \(limits.labelValueLength)",
                kind: kind)
        }
    }

    /// Parses `{name="value",…}` from the `{` at `i`, leaving `i` after the `}`. Rejects invalid
    /// and duplicate names and values that are not UTF-8; the text format allows blanks between
    /// tokens and a trailing comma. The label limits apply to a series' labels (`metricName`
    /// given), not to an exemplar's.
    mutating func parseLabelSet(
        _ p: UnsafePointer<UInt8>,
        count n: Int,
        at i: inout Int,
        special: ExpositionSpecialLabel,
        metricName: UnsafeRawBufferPointer? = nil,
        isExemplar: Bool = false
    ) throws -> ExpositionLabelSummary {
        let openMetrics = format == .openMetrics
        var summary = ExpositionLabelSummary()
        labelNames.reset()
        // Labels with a value so far, the metric name included.
        var counted = 1
        i += 1
        @inline(__always) func skipBlanks() {
            if !openMetrics {
                while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
            }
        }
        skipBlanks()
        if i < n && p[i] == ExpositionBytes.closeBrace {
            i += 1
            return summary
        }
        while true {
            let nameStart = i
            guard i < n, ExpositionBytes.isLabelNameStart(p[i]) else {
                throw nameFailure(
                    p, count: n, at: i, in: "label name", pattern: Self.labelNamePattern,
                    otherwise: i < n ? "expected a label name" : "unexpected end of line in label set")
            }
            i += 1
            while i < n, ExpositionBytes.isLabelNameCharacter(p[i]) { i += 1 }
            let nameEnd = i
            let labelName = UnsafeRawBufferPointer(start: p + nameStart, count: nameEnd - nameStart)
            if let metricName, limits.labelNameLength > 0 && labelName.count > limits.labelNameLength {
                throw labelLimitFailure(
                    .labelNameLengthLimit, at: nameStart, label: labelName, length: labelName.count,
                    metricName: metricName)
            }
            skipBlanks()
            guard i < n, p[i] == ExpositionBytes.equals else {
                throw nameFailure(
                    p, count: n, at: i, in: "label name", pattern: Self.labelNamePattern,
                    otherwise: "expected '=' after label name \(ExpositionBytes.quoted(labelName))")
            }
            i += 1
            skipBlanks()
            guard i < n, p[i] == ExpositionBytes.quote else {
                throw failure(at: i, "expected '\"' to start the value of label \(ExpositionBytes.quoted(labelName))")
            }
            i += 1
            let valueStart = i
            var escapes = 0
            var seen: UInt64 = 0
            while true {
                i = ExpositionBytes.firstQuoteOrBackslash(in: p, from: i, count: n, seen: &seen)
                guard i < n, p[i] == ExpositionBytes.backslash else { break }
                i += 1
                guard i < n else { break }
                if p[i] == ExpositionBytes.backslash || p[i] == ExpositionBytes.quote || p[i] == 0x6E {
                    escapes += 1
                }
                seen |= UInt64(p[i])
                i += 1
            }
            guard i < n else {
                throw failure(at: valueStart - 1, "unterminated value of label \(ExpositionBytes.quoted(labelName))")
            }
            let valueEnd = i
            i += 1
            if ExpositionBytes.hasNonASCII(seen),
                let invalid = ExpositionBytes.firstInvalidUTF8(in: p, from: valueStart, to: valueEnd)
            {
                throw failure(at: invalid, "invalid UTF-8 in the value of label \(ExpositionBytes.quoted(labelName))")
            }
            guard labelNames.insert(p, start: nameStart, length: labelName.count) else {
                throw failure(at: nameStart, "duplicate label name \(ExpositionBytes.quoted(labelName))")
            }
            if let metricName {
                let length = valueEnd - valueStart - escapes
                if length > 0 {
                    counted += 1
                    if limits.labels > 0 && counted > limits.labels {
                        throw labelLimitFailure(
                            .labelLimit, at: nameStart, label: labelName, length: length, metricName: metricName)
                    }
                }
                if limits.labelValueLength > 0 && length > limits.labelValueLength {
                    throw labelLimitFailure(
                        .labelValueLengthLimit, at: valueStart, label: labelName, length: length, metricName: metricName
                    )
                }
            }

            if isExemplar {
                summary.characters += Self.characterCount(labelName)
                summary.characters +=
                    Self.characterCount(UnsafeRawBufferPointer(start: p + valueStart, count: valueEnd - valueStart))
                    - escapes
            } else if openMetrics {
                if isSpecial(labelName, special) {
                    summary.specialStart = valueStart
                    summary.specialEnd = valueEnd
                } else {
                    let value = UnsafeRawBufferPointer(start: p + valueStart, count: valueEnd - valueStart)
                    summary.groupHash &+= ExpositionHash.hash(value, seed: ExpositionHash.hash(labelName))
                }
            }

            skipBlanks()
            guard i < n else { throw failure(at: i, "unexpected end of line in label set") }
            if p[i] == ExpositionBytes.comma {
                i += 1
                skipBlanks()
                if !openMetrics && i < n && p[i] == ExpositionBytes.closeBrace {
                    i += 1
                    return summary
                }
            } else if p[i] == ExpositionBytes.closeBrace {
                i += 1
                return summary
            } else {
                throw failure(
                    at: i, "expected ',' or '}' after the value of label \(ExpositionBytes.quoted(labelName))")
            }
        }
    }

    private func isSpecial(_ labelName: UnsafeRawBufferPointer, _ special: ExpositionSpecialLabel) -> Bool {
        switch special {
        case .none: false
        case .le: ExpositionBytes.equal(labelName, "le")
        case .quantile: ExpositionBytes.equal(labelName, "quantile")
        case .familyName: family.nameEquals(labelName)
        }
    }

    /// Unicode scalars in UTF-8 bytes (bytes that do not continue a sequence).
    private static func characterCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = 0
        for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }
}
