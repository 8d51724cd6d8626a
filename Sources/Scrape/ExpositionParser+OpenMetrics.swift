/// OpenMetrics 1.0: metadata lines, the text after a sample's value, and the rules that tie
/// samples to their family.
extension ExpositionParser {
    /// What follows an OpenMetrics sample's value.
    struct OpenMetricsTail {
        var timestamp: ExpositionTimestamp?
        /// Offset of the exemplar's `#`, if the sample has one.
        var exemplarOffset: Int?
    }

    /// Parses `# HELP name text`, `# TYPE name type` or `# UNIT name unit`.
    mutating func parseOpenMetricsMetadata(_ p: UnsafePointer<UInt8>, count n: Int) throws {
        guard n > 1, p[1] == ExpositionBytes.space else {
            throw failure(at: 1, "expected a space after '#'")
        }
        let keywordStart = 2
        let keywordEnd = keywordStart + ExpositionBytes.firstIndex(of: ExpositionBytes.space, in: p + 2, count: n - 2)
        let keyword = UnsafeRawBufferPointer(start: p + keywordStart, count: keywordEnd - keywordStart)
        let isHelp = ExpositionBytes.equal(keyword, "HELP")
        let isType = ExpositionBytes.equal(keyword, "TYPE")
        guard isHelp || isType || ExpositionBytes.equal(keyword, "UNIT") else {
            throw failure(at: keywordStart, "expected HELP, TYPE, UNIT or EOF after '# '")
        }
        guard keywordEnd < n else { throw failure(at: keywordEnd, "expected a metric name") }
        let nameStart = keywordEnd + 1
        let nameEnd =
            nameStart + ExpositionBytes.firstIndex(of: ExpositionBytes.space, in: p + nameStart, count: n - nameStart)
        let name = UnsafeRawBufferPointer(start: p + nameStart, count: nameEnd - nameStart)
        guard !name.isEmpty, ExpositionBytes.isMetricNameStart(name[0]),
            name.allSatisfy(ExpositionBytes.isMetricNameCharacter)
        else {
            throw failure(at: nameStart, "invalid metric name \(ExpositionBytes.quoted(name))")
        }
        guard nameEnd < n else {
            throw failure(at: nameEnd, "expected a space and text after the metric name")
        }
        let text = UnsafeRawBufferPointer(start: p + nameEnd + 1, count: n - nameEnd - 1)

        if family.isOpen && family.nameEquals(name) {
            guard !family.hasSamples else {
                throw failure(at: 0, "metadata for \(ExpositionBytes.quoted(name)) after its samples")
            }
        } else {
            try closeOpenMetricsFamily()
            family.open(name)
        }
        let textOffset = nameEnd + 1
        if isHelp {
            if let invalid = ExpositionBytes.firstInvalidUTF8(in: p, from: textOffset, to: n) {
                throw failure(at: invalid, "invalid UTF-8 in the HELP text of \(ExpositionBytes.quoted(name))")
            }
            guard !family.hasHelp else { throw failure(at: 0, "second HELP for \(ExpositionBytes.quoted(name))") }
            family.hasHelp = true
        } else if isType {
            guard family.type == nil else { throw failure(at: 0, "second TYPE for \(ExpositionBytes.quoted(name))") }
            guard let type = ExpositionMetricType(keyword: text, format: .openMetrics) else {
                throw failure(at: textOffset, "invalid metric type \(ExpositionBytes.quoted(text))")
            }
            if family.hasNonEmptyUnit && (type == .info || type == .stateset) {
                throw failure(at: textOffset, "\(type) metrics cannot have a unit")
            }
            family.type = type
        } else {
            guard !family.hasUnit else { throw failure(at: 0, "second UNIT for \(ExpositionBytes.quoted(name))") }
            family.hasUnit = true
            if !text.isEmpty {
                let isSuffix =
                    name.count > text.count && name[name.count - text.count - 1] == 0x5F
                    && ExpositionBytes.equal(UnsafeRawBufferPointer(rebasing: name[(name.count - text.count)...]), text)
                guard isSuffix else {
                    throw failure(
                        at: textOffset, "unit \(ExpositionBytes.quoted(text)) is not a suffix of the metric name")
                }
                if family.type == .info || family.type == .stateset {
                    throw failure(at: textOffset, "\(family.type!) metrics cannot have a unit")
                }
                family.hasNonEmptyUnit = true
            }
        }
    }

    /// The role of a sample named `name`: in the current family if its name is one the family
    /// allows, else the first sample of a new family of unknown type.
    mutating func openMetricsRole(of name: UnsafeRawBufferPointer) throws -> ExpositionSampleRole {
        if family.isOpen {
            let suffix: ExpositionSuffix? = family.withName { familyName in
                guard ExpositionBytes.hasPrefix(name, familyName),
                    let suffix = ExpositionSuffix(UnsafeRawBufferPointer(rebasing: name[familyName.count...])),
                    suffix.isAllowed(for: family.type)
                else { return nil }
                return suffix
            }
            if let suffix {
                family.hasSamples = true
                return ExpositionSampleRole(type: family.type ?? .unknown, suffix: suffix)
            }
        }
        try closeOpenMetricsFamily()
        family.open(name)
        family.hasSamples = true
        return ExpositionSampleRole(type: .unknown, suffix: .none)
    }

    /// Ends the current family: completes the histogram check and reserves the family's sample
    /// names, rejecting a name already used by an earlier family.
    mutating func closeOpenMetricsFamily() throws {
        guard family.isOpen else { return }
        family.isOpen = false
        if let problem = family.histogram.finish() {
            throw failure(at: 0, problem)
        }
        for suffix in ExpositionSuffix.reserved(by: family.type) {
            scratch.removeAll(keepingCapacity: true)
            family.withName { scratch.append(contentsOf: $0) }
            scratch.append(contentsOf: UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount))
            try scratch.withUnsafeBytes { sampleName in
                guard names.value(for: sampleName) == nil else {
                    throw failure(
                        at: 0, "metric name \(ExpositionBytes.quoted(sampleName)) clashes with an earlier family")
                }
                names.setValue(1, for: sampleName)
            }
        }
    }

    /// Parses what follows the value from `i` (at a space or the end): an optional timestamp
    /// and an optional exemplar `# {labels} value [timestamp]`.
    mutating func parseOpenMetricsTail(_ p: UnsafePointer<UInt8>, count n: Int, at start: Int) throws -> OpenMetricsTail
    {
        var tail = OpenMetricsTail()
        var i = start
        guard i < n else { return tail }
        i += 1
        guard i < n else { throw failure(at: i - 1, "unexpected space at the end of the line") }
        if p[i] != ExpositionBytes.hash {
            let timestampStart = i
            i += ExpositionBytes.firstIndex(of: ExpositionBytes.space, in: p + i, count: n - i)
            guard let timestamp = ExpositionNumber.parseSeconds(p + timestampStart, count: i - timestampStart) else {
                let text = UnsafeRawBufferPointer(start: p + timestampStart, count: i - timestampStart)
                throw failure(at: timestampStart, "invalid timestamp \(ExpositionBytes.quoted(text))")
            }
            tail.timestamp = timestamp
            guard i < n else { return tail }
            i += 1
            guard i < n else { throw failure(at: i - 1, "unexpected space at the end of the line") }
        }
        guard p[i] == ExpositionBytes.hash else { throw failure(at: i, "expected '#' to start an exemplar") }
        tail.exemplarOffset = i
        guard i + 1 < n, p[i + 1] == ExpositionBytes.space else {
            throw failure(at: i + 1, "expected a space after the exemplar's '#'")
        }
        i += 2
        guard i < n, p[i] == ExpositionBytes.openBrace else {
            throw failure(at: i, "expected '{' to start the exemplar's labels")
        }
        let labelsStart = i
        let labels = try parseLabelSet(p, count: n, at: &i, special: .none, isExemplar: true)
        guard labels.characters <= 128 else {
            throw failure(at: labelsStart, "exemplar labels longer than 128 characters")
        }
        guard i < n, p[i] == ExpositionBytes.space else {
            throw failure(at: i, "expected a space before the exemplar's value")
        }
        i += 1
        let valueStart = i
        i += ExpositionBytes.firstIndex(of: ExpositionBytes.space, in: p + i, count: n - i)
        guard ExpositionNumber.parseFloat(p + valueStart, count: i - valueStart) != nil else {
            let text = UnsafeRawBufferPointer(start: p + valueStart, count: i - valueStart)
            throw failure(at: valueStart, "invalid exemplar value \(ExpositionBytes.quoted(text))")
        }
        guard i < n else { return tail }
        i += 1
        guard ExpositionNumber.parseSeconds(p + i, count: n - i) != nil else {
            let text = UnsafeRawBufferPointer(start: p + i, count: n - i)
            throw failure(at: i, "invalid exemplar timestamp \(ExpositionBytes.quoted(text))")
        }
        return tail
    }

    /// The OpenMetrics rules for one sample within its family.
    mutating func validateOpenMetricsSample(
        _ p: UnsafePointer<UInt8>,
        role: ExpositionSampleRole,
        labels: ExpositionLabelSummary,
        value: Double,
        timestamp: ExpositionTimestamp?,
        exemplarOffset: Int?,
        valueOffset: Int
    ) throws {
        let special = UnsafeRawBufferPointer(
            start: p + max(labels.specialStart, 0), count: max(labels.specialEnd - labels.specialStart, 0))
        var bound = 0.0
        switch role.specialLabel {
        case .none:
            break
        case .le:
            guard labels.specialStart >= 0 else { throw failure(at: 0, "histogram bucket without an \"le\" label") }
            guard
                let le = ExpositionNumber.parseFloat(
                    special.baseAddress!.assumingMemoryBound(to: UInt8.self), count: special.count),
                !le.isNaN,
                !le.isInfinite || ExpositionBytes.equal(special, "+Inf") || ExpositionBytes.equal(special, "-Inf")
            else {
                throw failure(at: labels.specialStart, "invalid \"le\" value \(ExpositionBytes.quoted(special))")
            }
            bound = le
        case .quantile:
            guard labels.specialStart >= 0 else {
                throw failure(at: 0, "summary quantile without a \"quantile\" label")
            }
            guard
                let quantile = ExpositionNumber.parseFloat(
                    special.baseAddress!.assumingMemoryBound(to: UInt8.self), count: special.count),
                quantile >= 0 && quantile <= 1
            else {
                throw failure(at: labels.specialStart, "invalid \"quantile\" value \(ExpositionBytes.quoted(special))")
            }
        case .familyName:
            guard labels.specialStart >= 0 else {
                throw failure(at: 0, "stateset sample without a label named after its family")
            }
        }

        let suffix = role.suffix
        if suffix == .bucket || suffix == .count || suffix == .gcount {
            guard value.isFinite && value == value.rounded(.towardZero) else {
                throw failure(at: valueOffset, "a bucket or count value must be an integer")
            }
        }

        let group = role.type == .info ? 0 : labels.groupHash
        if let current = family.currentGroup, current == group {
            if (timestamp == nil) != (family.groupTimestamp == nil) {
                throw failure(at: valueOffset, "samples of a group must all have a timestamp or none")
            }
            if let previous = family.groupTimestamp, let timestamp, previous > timestamp, role.type != .info {
                throw failure(at: valueOffset, "timestamps went backwards within a group")
            }
        } else {
            if family.currentGroup != nil && family.seenGroups.contains(group) {
                throw failure(at: 0, "samples of a label group are interleaved with another group")
            }
            family.seenGroups.insert(group)
            family.currentGroup = group
        }
        family.groupTimestamp = timestamp

        switch role.type {
        case .stateset where value != 0 && value != 1:
            throw failure(at: valueOffset, "a stateset value must be 0 or 1")
        case .info where value != 1:
            throw failure(at: valueOffset, "an info value must be 1")
        case .summary where suffix == .none && value < 0:
            throw failure(at: valueOffset, "a quantile value cannot be negative")
        default:
            break
        }
        switch suffix {
        case .total, .sum, .count, .bucket, .gcount, .gsum:
            if value.isNaN { throw failure(at: valueOffset, "a counter-like value cannot be NaN") }
            if value < 0 && suffix != .gsum {
                throw failure(at: valueOffset, "a counter-like value cannot be negative")
            }
        default:
            break
        }
        if let exemplarOffset {
            let allowed =
                ((role.type == .histogram || role.type == .gaugehistogram) && suffix == .bucket)
                || (role.type == .counter && suffix == .total)
            guard allowed else {
                throw failure(at: exemplarOffset, "exemplars are only allowed on counter totals and histogram buckets")
            }
        }
        if (role.type == .histogram || role.type == .gaugehistogram) && suffix != .none {
            if let problem = family.histogram.add(
                suffix, group: group, timestamp: timestamp, value: value, bound: bound)
            {
                throw failure(at: 0, problem)
            }
        }
    }
}
