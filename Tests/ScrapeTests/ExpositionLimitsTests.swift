import Events
import Scrape
import Testing

/// The bytes of `text`, for bodies written as strings.
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// `body` as the given format: OpenMetrics needs its `# EOF`.
private func body(_ text: String, _ format: ExpositionFormat) -> [UInt8] {
    bytes(format == .openMetrics ? text + "# EOF\n" : text)
}

/// `line:column kind` of the refusal, or "accepted".
private func outcome(_ body: [UInt8], _ format: ExpositionFormat, _ limits: ExpositionLimits) -> String {
    guard let error = checkMetrics(body, format: format, limits: limits) else { return "accepted" }
    return "\(error.line):\(error.column) \(error.kind)"
}

/// One sample line with `count` labels `l0="v",l1="v",…`, and `extra` appended inside the braces.
private func manyLabels(_ count: Int, extra: String = "") -> String {
    var line = "many_labels{"
    line.reserveCapacity(count * 11 + 32)
    for index in 0..<count {
        if index > 0 { line += "," }
        line += "l\(index)=\"v\""
    }
    return line + extra + "} 1\n"
}

@Suite struct ExpositionLimitsTests {
    static let formats: [ExpositionFormat] = [.prometheusText, .openMetrics]

    @Test(arguments: formats) func theSampleLimitMayBeReachedButNotPassed(_ format: ExpositionFormat) {
        let exposition = body("a 1\nb 2\nc 3\n", format)
        #expect(outcome(exposition, format, ExpositionLimits(samples: 3)) == "accepted")
        #expect(outcome(exposition, format, ExpositionLimits(samples: 2)) == "3:1 sampleLimit")
        let error = checkMetrics(exposition, format: format, limits: ExpositionLimits(samples: 2))
        #expect(error?.message == "sample limit exceeded: more than 2 samples")
    }

    @Test(arguments: formats) func theLabelLimitCountsTheMetricNameButNotEmptyValues(_ format: ExpositionFormat) {
        let exposition = body("m{a=\"1\",b=\"2\"} 1\n", format)
        #expect(outcome(exposition, format, ExpositionLimits(labels: 3)) == "accepted")
        // The third label (`b`, column 9) is one too many.
        #expect(outcome(exposition, format, ExpositionLimits(labels: 2)) == "1:9 labelLimit")
        #expect(outcome(body("m{a=\"1\",b=\"\"} 1\n", format), format, ExpositionLimits(labels: 2)) == "accepted")
    }

    @Test(arguments: formats) func theLabelNameLengthLimitAppliesToEveryNameAndToName(_ format: ExpositionFormat) {
        let exposition = body("m{abcdefghi=\"1\"} 1\n", format)
        #expect(outcome(exposition, format, ExpositionLimits(labelNameLength: 9)) == "accepted")
        #expect(outcome(exposition, format, ExpositionLimits(labelNameLength: 8)) == "1:3 labelNameLengthLimit")
        // `__name__` is 8 bytes long, as in Prometheus.
        #expect(
            outcome(body("m 1\n", format), format, ExpositionLimits(labelNameLength: 7)) == "1:1 labelNameLengthLimit")
    }

    @Test(arguments: formats) func theLabelValueLengthLimitCountsUnescapedBytes(_ format: ExpositionFormat) {
        let exposition = body("m{a=\"12345\"} 1\n", format)
        #expect(outcome(exposition, format, ExpositionLimits(labelValueLength: 5)) == "accepted")
        #expect(outcome(exposition, format, ExpositionLimits(labelValueLength: 4)) == "1:6 labelValueLengthLimit")
        // `x\"\\` is five bytes written, three unescaped.
        let escaped = body("m{a=\"x\\\"\\\\\"} 1\n", format)
        #expect(outcome(escaped, format, ExpositionLimits(labelValueLength: 3)) == "accepted")
        #expect(outcome(escaped, format, ExpositionLimits(labelValueLength: 2)) == "1:6 labelValueLengthLimit")
        // The metric name is the value of `__name__`.
        let named = body("abcdef 1\n", format)
        #expect(outcome(named, format, ExpositionLimits(labelValueLength: 6)) == "accepted")
        #expect(outcome(named, format, ExpositionLimits(labelValueLength: 5)) == "1:1 labelValueLengthLimit")
    }

    @Test func exemplarLabelsAreNotSeriesLabels() {
        let exposition = bytes("# TYPE a counter\na_total 1 # {trace_id=\"abcdefghij\"} 1\n# EOF\n")
        let limits = ExpositionLimits(labels: 1, labelNameLength: 8, labelValueLength: 7)
        #expect(outcome(exposition, .openMetrics, limits) == "accepted")
    }

    @Test func streamedBodiesStopAtTheSameLineAndColumn() {
        let exposition = bytes("a 1\nm{a=\"1\",b=\"2\"} 1\nc 3\n")
        for limits in [ExpositionLimits(samples: 2), ExpositionLimits(labels: 2), ExpositionLimits(labelNameLength: 7)]
        {
            let whole = checkMetrics(exposition, format: .prometheusText, limits: limits)
            for chunkSize in [1, 3, exposition.count] {
                var parser = ExpositionStreamParser(format: .prometheusText, limits: limits)
                var streamed: ExpositionError?
                do {
                    var start = 0
                    while start < exposition.count {
                        let end = min(start + chunkSize, exposition.count)
                        try parser.feed(Array(exposition[start..<end])) { _ in }
                        start = end
                    }
                    try parser.finish { _ in }
                } catch let error as ExpositionError {
                    streamed = error
                } catch {
                    Issue.record("unexpected error \(error)")
                }
                #expect(streamed == whole, "chunk size \(chunkSize), \(limits)")
            }
        }
    }

    @Test func aDeadlineThatHasPassedStopsParsingAtTheFirstLine() throws {
        var parser = ExpositionParser(format: .prometheusText)
        let exposition = bytes("a 1\nb 2\n")
        #expect(throws: ExpositionError(line: 1, column: 1, message: "parsing ran past its deadline", kind: .timedOut))
        {
            try exposition.withUnsafeBytes { try parser.parse($0, deadline: .now - .seconds(1)) { _ in } }
        }
        #expect(try exposition.withUnsafeBytes { try parser.parse($0, deadline: .now + .seconds(3600)) { _ in } } == 2)
    }
}

/// Parsing is linear in the input: these lines would take minutes with a quadratic scan.
@Suite struct ExpositionLinearityTests {
    @Test(.timeLimit(.minutes(1))) func aLineWith100000LabelsIsRefusedByTheLabelLimitAtTheFirstLabelPastIt() throws {
        let line = manyLabels(100_000)
        let error = try #require(
            checkMetrics(bytes(line), format: .prometheusText, limits: ExpositionLimits(labels: Labels.maximumCount)))
        #expect(error.kind == .labelLimit)
        #expect(error.line == 1)
        // With the metric name, label l65535 is label number 65,537.
        let offset = try #require(line.utf8.firstRange(of: ",l65535=".utf8)).lowerBound
        #expect(error.column == line.utf8.distance(from: line.utf8.startIndex, to: offset) + 2)
    }

    @Test(.timeLimit(.minutes(1))) func aLineWith100000LabelsParsesWithoutLimitsAndARepeatedNameIsFound() throws {
        #expect(checkMetrics(bytes(manyLabels(100_000)), format: .prometheusText) == nil)
        #expect(checkMetrics(bytes(manyLabels(100_000) + "# EOF\n"), format: .openMetrics) == nil)
        let repeated = manyLabels(100_000, extra: ",l99998=\"w\"")
        let error = try #require(checkMetrics(bytes(repeated), format: .prometheusText))
        #expect(error.message == "duplicate label name \"l99998\"")
        #expect(error.column == repeated.utf8.count - "l99998=\"w\"} 1\n".utf8.count + 1)
    }

    @Test(arguments: [2, 15, 16, 17, 40, 1000])
    func aRepeatedNameIsFoundWhereverItIsAndLaterLinesStartAfresh(count: Int) {
        for repeatedIndex in Set([0, count / 2, count - 1]) {
            let line = manyLabels(count, extra: ",l\(repeatedIndex)=\"w\"")
            let error = checkMetrics(bytes(line), format: .prometheusText)
            #expect(error?.message == "duplicate label name \"l\(repeatedIndex)\"", "\(count) labels")
            #expect(error?.column == line.utf8.count - "l\(repeatedIndex)=\"w\"} 1\n".utf8.count + 1)
        }
        // The same names on later lines, with more and fewer labels: no name carries over.
        let lines = manyLabels(count) + manyLabels(count / 2) + manyLabels(count + 20) + manyLabels(count)
        #expect(checkMetrics(bytes(lines), format: .prometheusText) == nil)
    }
}

@Suite struct ExpositionUTF8Tests {
    static let formats: [ExpositionFormat] = [.prometheusText, .openMetrics]

    @Test(arguments: formats) func multiByteCharactersAreAcceptedInValuesAndHelp(_ format: ExpositionFormat) {
        let exposition = body("# HELP m café ☕ 𝄞\nm{a=\"café\",b=\"☕\",c=\"𝄞\"} 1\n", format)
        #expect(checkMetrics(exposition, format: format) == nil)
    }

    /// Bodies with one bad byte sequence, and where it starts (`line:column`).
    static let invalid: [(String, [UInt8], String)] = [
        ("a byte that never starts a sequence", bytes("m{a=\"ok") + [0xFF] + bytes("\"} 1\n"), "1:8"),
        ("a sequence cut short", bytes("m{a=\"") + [0xC3] + bytes("\"} 1\n"), "1:6"),
        ("an overlong encoding", bytes("m{a=\"") + [0xC0, 0xAF] + bytes("\"} 1\n"), "1:6"),
        ("a surrogate", bytes("m{a=\"") + [0xED, 0xA0, 0x80] + bytes("\"} 1\n"), "1:6"),
        ("a code point above U+10FFFF", bytes("m{a=\"") + [0xF4, 0x90, 0x80, 0x80] + bytes("\"} 1\n"), "1:6"),
        ("a bad byte after a good character", bytes("m{a=\"é") + [0xFF] + bytes("\"} 1\n"), "1:8"),
        ("a bad byte in a second line's value", bytes("a 1\nm{a=\"x\",b=\"y") + [0xFE] + bytes("\"} 1\n"), "2:13"),
        ("a bad byte in a HELP text", bytes("# HELP m bad ") + [0xFF] + bytes("\nm 1\n"), "1:14"),
    ]

    @Test(arguments: formats) func invalidUTF8IsRefusedWithLineAndColumn(_ format: ExpositionFormat) {
        for (name, text, position) in Self.invalid {
            let exposition = format == .openMetrics ? text + bytes("# EOF\n") : text
            let error = checkMetrics(exposition, format: format)
            #expect(
                error.map { "\($0.line):\($0.column)" } == position, "\(name): \(error.map { "\($0)" } ?? "accepted")")
            #expect(error?.message.contains("invalid UTF-8") == true, "\(name): \(error?.message ?? "")")
        }
    }

    @Test func namesHoldOnlyASCIIAndSayWhatIsWrongWithAnyOtherByte() {
        let cases: [([UInt8], String, String)] = [
            (bytes("caf") + [0xC3, 0xA9] + bytes(" 1\n"), "1:4", "non-ASCII character in metric name"),
            (bytes("ab") + [0xFF] + bytes(" 1\n"), "1:3", "invalid UTF-8 in metric name"),
            ([0xFF] + bytes(" 1\n"), "1:1", "invalid UTF-8 in metric name"),
            (bytes("m{a") + [0xFF] + bytes("=\"1\"} 1\n"), "1:4", "invalid UTF-8 in label name"),
            (bytes("m{") + [0xC3, 0xA9] + bytes("=\"1\"} 1\n"), "1:3", "non-ASCII character in label name"),
            (bytes("# TYPE m") + [0xFF] + bytes(" gauge\n"), "1:9", "invalid UTF-8 in metric name"),
        ]
        for (exposition, position, message) in cases {
            let error = checkMetrics(exposition, format: .prometheusText)
            #expect(error.map { "\($0.line):\($0.column)" } == position, "\(error.map { "\($0)" } ?? "accepted")")
            #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
        }
    }

    @Test func anExemplarValueMustBeUTF8Too() {
        let exposition = bytes("# TYPE a counter\na_total 1 # {t=\"") + [0xFF] + bytes("\"} 1\n# EOF\n")
        let error = checkMetrics(exposition, format: .openMetrics)
        #expect(error.map { "\($0.line):\($0.column)" } == "2:17")
        #expect(error?.message == "invalid UTF-8 in the value of label \"t\"")
    }
}
