/// Prometheus text format 0.0.4: comments and how samples map to families.
extension ExpositionParser {
    /// Per-name flags of the text format, kept in ``names``; the type sits in bits 8…15.
    private enum NameFlag {
        static let typed: UInt32 = 1
        static let helped: UInt32 = 2
        static let sampled: UInt32 = 4
    }

    /// Parses a comment line from just after its `#`: `HELP` and `TYPE` are checked, anything
    /// else is ignored.
    mutating func parseTextComment(_ p: UnsafePointer<UInt8>, count n: Int, from start: Int) throws {
        var i = start
        guard i < n, ExpositionBytes.isBlank(p[i]) else { return }
        while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
        let keywordStart = i
        while i < n, !ExpositionBytes.isBlank(p[i]) { i += 1 }
        let keyword = UnsafeRawBufferPointer(start: p + keywordStart, count: i - keywordStart)
        let isHelp = ExpositionBytes.equal(keyword, "HELP")
        guard isHelp || ExpositionBytes.equal(keyword, "TYPE"), i < n else { return }
        while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
        let nameStart = i
        guard i < n, ExpositionBytes.isMetricNameStart(p[i]) else {
            throw nameFailure(
                p, count: n, at: i, in: "metric name", pattern: Self.metricNamePattern,
                otherwise: "expected a metric name after \(isHelp ? "HELP" : "TYPE")")
        }
        while i < n, ExpositionBytes.isMetricNameCharacter(p[i]) { i += 1 }
        guard i == n || ExpositionBytes.isBlank(p[i]) else {
            throw nameFailure(
                p, count: n, at: i, in: "metric name", pattern: Self.metricNamePattern,
                otherwise: "invalid character in metric name")
        }
        let name = UnsafeRawBufferPointer(start: p + nameStart, count: i - nameStart)
        var type: ExpositionMetricType?
        if isHelp {
            if let invalid = ExpositionBytes.firstInvalidUTF8(in: p, from: i, to: n) {
                throw failure(at: invalid, "invalid UTF-8 in the HELP text of \(ExpositionBytes.quoted(name))")
            }
        } else {
            while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
            let typeStart = i
            while i < n, !ExpositionBytes.isBlank(p[i]) { i += 1 }
            let keyword = UnsafeRawBufferPointer(start: p + typeStart, count: i - typeStart)
            type = ExpositionMetricType(keyword: keyword, format: .prometheusText)
            guard type != nil else {
                throw failure(at: typeStart, "invalid metric type \(ExpositionBytes.quoted(keyword))")
            }
            while i < n, ExpositionBytes.isBlank(p[i]) { i += 1 }
            guard i == n else { throw failure(at: i, "unexpected text after the metric type") }
        }
        var problem: String?
        let flags = names.update(name) { flags in
            if let type {
                if flags & NameFlag.typed != 0 {
                    problem = "second TYPE line for metric name \(ExpositionBytes.quoted(name))"
                } else if flags & NameFlag.sampled != 0 {
                    problem = "TYPE line for metric name \(ExpositionBytes.quoted(name)) after its samples"
                }
                flags |= NameFlag.typed | type.code << 8
            } else {
                if flags & NameFlag.helped != 0 {
                    problem = "second HELP line for metric name \(ExpositionBytes.quoted(name))"
                }
                flags |= NameFlag.helped
            }
        }
        if let problem { throw failure(at: nameStart, problem) }
        if !(family.isOpen && family.nameEquals(name)) {
            family.open(name)
        }
        family.hasSamples = flags & NameFlag.sampled != 0
        family.type = flags & NameFlag.typed != 0 ? ExpositionMetricType(code: flags >> 8) : nil
    }

    /// The type of a text-format sample named `name`, switching families when the name does not
    /// belong to the current one.
    mutating func textType(of name: UnsafeRawBufferPointer) -> ExpositionMetricType {
        if family.isOpen && !family.admitsTextSample(named: name) {
            family.isOpen = false
        }
        if !family.isOpen {
            // One probe of the table: the name's flags as they were, and `sampled` from now on.
            var before: UInt32 = 0
            names.update(name) { flags in
                before = flags
                flags |= NameFlag.sampled
            }
            family.open(name)
            family.hasSamples = true
            family.type = before & NameFlag.typed != 0 ? ExpositionMetricType(code: before >> 8) : nil
            return family.type ?? .untyped
        }
        if !family.hasSamples {
            family.hasSamples = true
            family.withName { familyName in
                _ = names.update(familyName) { $0 |= NameFlag.sampled }
            }
        }
        return family.type ?? .untyped
    }
}

extension ExpositionMetricType {
    /// A small number for compact storage.
    var code: UInt32 {
        switch self {
        case .counter: 1
        case .gauge: 2
        case .histogram: 3
        case .summary: 4
        case .untyped: 5
        case .unknown: 6
        case .info: 7
        case .stateset: 8
        case .gaugehistogram: 9
        }
    }

    init?(code: UInt32) {
        switch code {
        case 1: self = .counter
        case 2: self = .gauge
        case 3: self = .histogram
        case 4: self = .summary
        case 5: self = .untyped
        case 6: self = .unknown
        case 7: self = .info
        case 8: self = .stateset
        case 9: self = .gaugehistogram
        default: return nil
        }
    }
}
