import Foundation
import Scrape
import Testing

/// A sample copied out of the parser's callback, for comparisons.
struct CollectedSample: Equatable, CustomStringConvertible {
    var series: String
    var valueBits: UInt64
    var timestamp: Int64?
    var type: ExpositionMetricType
    /// The metric name the sample gives (the start of `series`).
    var name: String

    init(_ sample: ExpositionSample) {
        series = String(decoding: sample.seriesBytes, as: UTF8.self)
        valueBits = sample.value.bitPattern
        timestamp = sample.timestamp
        type = sample.type
        name = sample.name()
    }

    var value: Double { Double(bitPattern: valueBits) }
    var description: String { "\(series) \(value) \(timestamp.map(String.init) ?? "-") \(type)" }
}

/// Parses `text` in one piece: the samples, or the error.
func parseWhole(_ text: String, _ format: ExpositionFormat) -> Result<[CollectedSample], ExpositionError> {
    parseWhole(Array(text.utf8), format)
}

func parseWhole(_ bytes: [UInt8], _ format: ExpositionFormat) -> Result<[CollectedSample], ExpositionError> {
    parseLooking(bytes, format)
}

/// Parses `body` with `lookup`, calling `onSample` per sample: the samples, or the parser's error.
func parseLooking(
    _ body: [UInt8], _ format: ExpositionFormat, lookup: (UnsafeRawBufferPointer) -> Int? = { _ in nil },
    expectedLength: () -> Int = { 0 }, onSample: (ExpositionSample) -> Void = { _ in }
) -> Result<[CollectedSample], ExpositionError> {
    expositionResult {
        var samples: [CollectedSample] = []
        var parser = ExpositionParser(format: format)
        let count = try body.withUnsafeBytes { buffer in
            try parser.parse(buffer, lookup: lookup, expectedLength: expectedLength) { sample in
                onSample(sample)
                samples.append(CollectedSample(sample))
            }
        }
        #expect(count == samples.count)
        return samples
    }
}

/// What `parse` gave: its samples, or the parser's error (any other error is recorded as an issue).
func expositionResult(_ parse: () throws -> [CollectedSample]) -> Result<[CollectedSample], ExpositionError> {
    do {
        return .success(try parse())
    } catch let error as ExpositionError {
        return .failure(error)
    } catch {
        Issue.record("unexpected error \(error)")
        return .success([])
    }
}

/// A text-format case: the body and either the samples' series (as written) or `line:column`.
struct TextCase: CustomStringConvertible, Sendable {
    var body: String
    var series: [String]?
    var errorAt: String?

    static func valid(_ body: String, _ series: [String]) -> TextCase { TextCase(body: body, series: series) }
    static func invalid(_ body: String, at position: String) -> TextCase { TextCase(body: body, errorAt: position) }

    var description: String { body.debugDescription }

    static let all: [TextCase] = [
        .valid("foo 1\n", ["foo"]),
        .valid("foo 1", ["foo"]),
        .valid("", []),
        .valid("\n\n  \n\t\n", []),
        .valid("foo{a=\"b\"} 1\nbar{a=\"b\",c=\"d\",} 2\n", ["foo{a=\"b\"}", "bar{a=\"b\",c=\"d\",}"]),
        .valid("foo { a = \"b\" , c=\"d\" } 1 123\n", ["foo { a = \"b\" , c=\"d\" }"]),
        .valid("  foo\t1\t-5  \n", ["foo"]),
        .valid(
            "foo\t{a=\"b\"}\t1\nfoo {a=\"b\"} 2\nfoo\t3\nfoo 4\nfoo\t\t{a=\"b\"} 5\n",
            ["foo\t{a=\"b\"}", "foo {a=\"b\"}", "foo", "foo", "foo\t\t{a=\"b\"}"]),
        .valid(
            "foo 1\nfoo_bar 2\nfoo {a=\"b\"} 3\nfoo\t{a=\"b\"} 4\nfoo{a=\"b\"} 5\nfoo{a=\"b\",c=\"d\"} 6\nfoo 7\n",
            ["foo", "foo_bar", "foo {a=\"b\"}", "foo\t{a=\"b\"}", "foo{a=\"b\"}", "foo{a=\"b\",c=\"d\"}", "foo"]),
        .valid("foo{} 1\n", ["foo{}"]),
        .valid("foo NaN\nbar +Inf\nbaz -Inf\nqux 1e-3\nquux -.5\n", ["foo", "bar", "baz", "qux", "quux"]),
        .valid("foo{a=\"x\\\\y\\\"z\\n\",b=\"\\q\"} 1\n", ["foo{a=\"x\\\\y\\\"z\\n\",b=\"\\q\"}"]),
        .valid("foo{a=\"}\\\"}\",b=\"{\\\\\"} 1\n", ["foo{a=\"}\\\"}\",b=\"{\\\\\"}"]),
        .valid("foo{a=\"} # {\"} 1\n", ["foo{a=\"} # {\"}"]),
        .valid("# just a comment\n#no space\n# HELP\n# TYPE\nfoo 1\n", ["foo"]),
        .valid("# HELP foo Some \\\\ help\\n text\n# TYPE foo counter\nfoo 1\n", ["foo"]),
        .valid("# TYPE foo counter\n# HELP foo help\nfoo 1\n", ["foo"]),
        .valid(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
            ["h_bucket{le=\"1\"}", "h_bucket{le=\"+Inf\"}", "h_sum", "h_count"]),
        .valid("# TYPE foo gauge\n# TYPE bar gauge\nfoo 1\nbar 2\nfoo{a=\"b\"} 3\n", ["foo", "bar", "foo{a=\"b\"}"]),
        .valid("colon:name_1 1\n_under 2\n", ["colon:name_1", "_under"]),
        .valid("foo 1 9223372036854775807\n", ["foo"]),
        .invalid("foo{a=\"b\",a=\"c\"} 1\n", at: "1:11"),
        .invalid("0foo 1\n", at: "1:1"),
        .invalid("foo-bar 1\n", at: "1:4"),
        .invalid("foo{0a=\"b\"} 1\n", at: "1:5"),
        .invalid("foo{a=b} 1\n", at: "1:7"),
        .invalid("foo{a \"b\"} 1\n", at: "1:7"),
        .invalid("foo{a=\"b\"\n", at: "1:10"),
        .invalid("foo{a=\"b} 1\n", at: "1:7"),
        .invalid("foo{a=\"b\" c=\"d\"} 1\n", at: "1:11"),
        .invalid("foo{,} 1\n", at: "1:5"),
        .invalid("foo{a=\"b\",,} 1\n", at: "1:11"),
        .invalid("foo\n", at: "1:4"),
        .invalid("foo{a=\"b\"}\n", at: "1:11"),
        .invalid("foo{a=\"b\"} 1\nfoo{a=\"b\"}x 2\n", at: "2:11"),
        .invalid("foo 1\nfoo\n", at: "2:4"),
        .invalid("foo bar\n", at: "1:5"),
        .invalid("foo 1.5.5\n", at: "1:5"),
        .invalid("foo 1_000\n", at: "1:5"),
        .invalid("foo 1 1.5\n", at: "1:7"),
        .invalid("foo 1 2 3\n", at: "1:9"),
        .invalid("foo 1 99999999999999999999\n", at: "1:7"),
        .invalid("ok 1\nfoo 1\n# TYPE foo counter\n", at: "3:8"),
        .invalid("# TYPE foo counter\n# TYPE foo gauge\n", at: "2:8"),
        .invalid("# HELP foo a\n# HELP foo b\n", at: "2:8"),
        .invalid("# TYPE foo info\n", at: "1:12"),
        .invalid("# TYPE foo\n", at: "1:11"),
        .invalid("# TYPE foo gauge extra\n", at: "1:18"),
        .invalid("# HELP 1foo x\n", at: "1:8"),
        .invalid("# TYPE foo.bar gauge\n", at: "1:11"),
        .invalid("a 1\nb 2\n\nc{x=\"1\"} 3 x\n", at: "4:12"),
    ]
}

@Suite struct ExpositionParserTests {
    @Test(arguments: TextCase.all)
    func textFormatCaseParsesAsExpected(_ textCase: TextCase) {
        switch parseWhole(textCase.body, .prometheusText) {
        case .success(let samples):
            #expect(textCase.series != nil, "accepted, expected an error at \(textCase.errorAt ?? "")")
            #expect(samples.map(\.series) == (textCase.series ?? []))
        case .failure(let error):
            #expect(textCase.errorAt != nil, "rejected: \(error)")
            #expect("\(error.line):\(error.column)" == (textCase.errorAt ?? ""), "\(error)")
        }
    }

    /// A second parse with a lookup that knows the first parse's series (as the scrape loop's
    /// cache does) gives the same samples, each known, or the same error: the end of a known label
    /// set, found without its checks, is where the checks end it.
    @Test(arguments: TextCase.all)
    func knownSeriesParseAsTheyDidWhenNew(_ textCase: TextCase) {
        let body = Array(textCase.body.utf8)
        let (first, seen) = parseNumberingSeries(body)
        expectSameParse(body, knowing: seen, expectedLength: 0, as: first)
    }

    /// The parser first asks about as many bytes as the series expected next takes: whatever that
    /// length (here every length of a known series, on every line), a second parse gives the same
    /// samples, each found as the series it is, or the same error.
    @Test(arguments: TextCase.all)
    func anExpectedLengthNeverChangesWhatALineSays(_ textCase: TextCase) {
        let body = Array(textCase.body.utf8)
        let (first, seen) = parseNumberingSeries(body)
        for length in Set(seen.keys.map(\.count) + [1, body.count]) {
            expectSameParse(body, knowing: seen, expectedLength: length, as: first)
        }
    }

    /// Parses a text body, numbering its series (as written) in the order first seen.
    private func parseNumberingSeries(_ body: [UInt8]) -> (Result<[CollectedSample], ExpositionError>, [[UInt8]: Int]) {
        var seen: [[UInt8]: Int] = [:]
        let result = parseLooking(
            body, .prometheusText,
            onSample: { sample in
                if seen[Array(sample.seriesBytes)] == nil { seen[Array(sample.seriesBytes)] = seen.count }
            })
        return (result, seen)
    }

    /// Parses `body` again with a lookup that knows `seen`, expecting `expectedLength` bytes at
    /// every line: the samples of `first`, each found as the series it is, or the error of `first`.
    private func expectSameParse(
        _ body: [UInt8], knowing seen: [[UInt8]: Int], expectedLength: Int,
        as first: Result<[CollectedSample], ExpositionError>
    ) {
        var wrong: [String] = []
        let second = parseLooking(
            body, .prometheusText, lookup: { seen[Array($0)] }, expectedLength: { expectedLength },
            onSample: { sample in
                if sample.known == nil || sample.known != seen[Array(sample.seriesBytes)] {
                    wrong.append(String(decoding: sample.seriesBytes, as: UTF8.self))
                }
            })
        #expect(wrong.isEmpty, "expecting \(expectedLength) bytes, not found as themselves: \(wrong)")
        switch (first, second) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "expecting \(expectedLength) bytes")
        case (.failure(let a), .failure(let b)):
            #expect("\(a.line):\(a.column) \(a.message)" == "\(b.line):\(b.column) \(b.message)")
        default:
            Issue.record("expecting \(expectedLength) bytes: first parse \(first), second \(second)")
        }
    }

    /// Text format: a label set the lookup knows is not checked again (the lookup vouches for it);
    /// OpenMetrics checks every label set, known or not.
    @Test func aKnownLabelSetSkipsItsChecksInTheTextFormatOnly() throws {
        let series = Array("foo{a=\"1\",a=\"2\"}".utf8)
        func parse(_ text: String, _ format: ExpositionFormat) -> Result<[Int?], ExpositionError> {
            var known: [Int?] = []
            return parseLooking(
                Array(text.utf8), format, lookup: { Array($0) == series ? 7 : nil },
                onSample: { known.append($0.known) }
            ).map { _ in known }
        }
        #expect(try parse("foo{a=\"1\",a=\"2\"} 1\nfoo{a=\"1\"} 2\n", .prometheusText).get() == [7, nil])
        #expect(throws: ExpositionError.self) { try parse("foo{a=\"1\",a=\"3\"} 1\n", .prometheusText).get() }
        #expect(throws: ExpositionError.self) { try parse("foo{a=\"1\",a=\"2\"} 1\n# EOF\n", .openMetrics).get() }
    }

    @Test func valuesAndTimestampsAreDecoded() throws {
        let body = "a 1\nb -2.5e3 17\nc NaN\nd +Inf -3\ne -Inf\nf 0.013300656000000001\ng 1.7976931348623157e308\n"
        let samples = try parseWhole(body, .prometheusText).get()
        #expect(samples.map(\.value).dropFirst(2).first?.isNaN == true)
        let values = samples.map(\.value)
        #expect(values[0] == 1 && values[1] == -2500 && values[3] == .infinity && values[4] == -.infinity)
        #expect(values[5] == 0.013300656000000001 && values[6] == .greatestFiniteMagnitude)
        #expect(samples.map(\.timestamp) == [nil, 17, nil, -3, nil, nil, nil])
    }

    @Test func sampleTypesFollowTheFamily() throws {
        let body = """
            # TYPE s summary
            s{quantile="0.5"} 1
            s_sum 2
            s_count 3
            s_other 4
            # TYPE c counter
            c 1
            c_sum 1
            u 5

            """
        let types = try parseWhole(body, .prometheusText).get().map(\.type)
        #expect(types == [.summary, .summary, .summary, .untyped, .counter, .untyped, .untyped])
    }

    @Test func namesAndLabelsAreUnescapedInWrittenOrder() throws {
        let body = Array("foo_bar { zeta = \"x\\\\y\\\"z\\n\", alpha=\"\\q\" ,} 1\n".utf8)
        var names: [String] = []
        var labels: [[(name: String, value: String)]] = []
        var parser = ExpositionParser(format: .prometheusText)
        _ = try body.withUnsafeBytes { body in
            try parser.parse(body) { sample in
                names.append(sample.name())
                labels.append(sample.labels())
            }
        }
        #expect(names == ["foo_bar"])
        let only = try #require(labels.first)
        #expect(only.map(\.name) == ["zeta", "alpha"])
        #expect(only.map(\.value) == ["x\\y\"z\n", "\\q"])
    }

    @Test func openMetricsTimestampsBecomeMilliseconds() throws {
        let body = "a 1 1.5\nb 1 -1.0005\nc 1 1520879607.789\nd 1 1.5e3\ne 1 12345678901234567890.1\n# EOF\n"
        let samples = try parseWhole(body, .openMetrics).get()
        #expect(samples.map(\.timestamp) == [1500, -1001, 1_520_879_607_789, 1_500_000, .max])
        #expect(samples.allSatisfy { $0.type == .unknown })
    }

    @Test func errorsDescribeTheirPosition() {
        let error = checkMetrics(Array("a 1\nb 2\nfoo{job\"x\"} 1\n".utf8), format: .prometheusText)
        #expect(error?.description == "3:8: expected '=' after label name \"job\"")
        #expect(
            checkMetrics(Array("a 1\n".utf8), format: .openMetrics)?.description == "2:1: missing \"# EOF\" at the end")
        #expect(checkMetrics(Array("a 1\n# EOF\n".utf8), format: .openMetrics) == nil)
    }

    @Test func formatIsChosenByContentType() {
        #expect(ExpositionFormat(contentType: "application/openmetrics-text; version=1.0.0") == .openMetrics)
        #expect(ExpositionFormat(contentType: "Application/OpenMetrics-Text") == .openMetrics)
        #expect(ExpositionFormat(contentType: "text/plain; version=0.0.4") == .prometheusText)
        #expect(ExpositionFormat(contentType: nil) == .prometheusText)
    }

    @Test func nodeExporterFixtureParses() throws {
        let path = #filePath.split(separator: "/").dropLast().joined(separator: "/")
        let bytes = try #require(FileBytes.read("/" + path + "/Fixtures/node_exporter.prom"))
        let samples = try parseWhole(bytes, .prometheusText).get()
        let sampleLines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples.count == sampleLines.count)
        #expect(samples.contains { $0.type == .counter } && samples.contains { $0.type == .gauge })
    }
}

enum FileBytes {
    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }
}

@Suite struct ExpositionOpenMetricsSampleTests {
    @Test func samplesCarryTheirFamilyTypeAndSeriesWithoutExemplar() throws {
        let body = """
            # TYPE h histogram
            # UNIT h_seconds seconds
            # TYPE h_seconds histogram
            h_seconds_bucket{le="0.5"} 1 # {trace_id="abc"} 0.3 1.5
            h_seconds_bucket{le="+Inf"} 2
            h_seconds_count 2
            h_seconds_sum 0.9
            h_seconds_created 1.7e9
            # TYPE c counter
            c_total{path="/"} 3 100 # {trace_id="def"} 1
            # TYPE s stateset
            s{s="on"} 1
            s{s="off"} 0
            # TYPE i info
            i_info{version="1.2"} 1
            # EOF

            """
        let samples = try parseWhole(body, .openMetrics).get()
        #expect(
            samples.map(\.series) == [
                "h_seconds_bucket{le=\"0.5\"}", "h_seconds_bucket{le=\"+Inf\"}", "h_seconds_count", "h_seconds_sum",
                "h_seconds_created", "c_total{path=\"/\"}", "s{s=\"on\"}", "s{s=\"off\"}", "i_info{version=\"1.2\"}",
            ])
        #expect(
            samples.map(\.type) == [
                .histogram, .histogram, .histogram, .histogram, .histogram, .counter, .stateset, .stateset, .info,
            ])
        #expect(samples.map(\.timestamp) == [nil, nil, nil, nil, nil, 100_000, nil, nil, nil])
        #expect(samples[4].value == 1.7e9)
    }

    @Test(arguments: [
        ("# TYPE a counter\na_total 1\na_total 2\n# EOF\n", true),
        ("# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 1\na_total{x=\"1\"} 1\n# EOF\n", false),
        ("# TYPE a gauge\na{x=\"1\",y=\"2\"} 1 1\na{y=\"2\",x=\"1\"} 1 2\n# EOF\n", true),
        ("# TYPE a gauge\na{x=\"1\",y=\"2\"} 1 2\na{y=\"2\",x=\"1\"} 1 1\n# EOF\n", false),
        ("a 1\nb 1\na 1\n# EOF\n", false),
        ("# TYPE a counter\na_total 1 # {} 1\n# EOF\n", true),
        ("# TYPE a counter\na_total 1 # {a=\"1\",a=\"2\"} 1\n# EOF\n", false),
        ("# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"+Inf\"} 1.5\n# EOF\n", false),
        ("# TYPE a histogram\na_bucket{le=\"NaN\"} 1\na_bucket{le=\"+Inf\"} 1\n# EOF\n", false),
        (
            "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"+Inf\"} 1\na_bucket{le=\"1\",x=\"y\"} 0\n"
                + "a_bucket{le=\"+Inf\",x=\"y\"} 0\n# EOF\n", true
        ),
        ("# TYPE a summary\na{quantile=\"0.5\"} 1\na{quantile=\"1e0\"} 2\na_count 1\na_sum 1\n# EOF\n", true),
        ("# TYPE a unknown\na 1\n# EOF\n", true),
        ("# TYPE a gauge\n# EOF\n# EOF\n", false),
        ("a 1\n# EOF\n\n", false),
        ("a{b=\"c\"} 1\r\n# EOF\n", false),
    ])
    func openMetricsRuleIsApplied(_ body: String, _ valid: Bool) {
        let error = checkMetrics(Array(body.utf8), format: .openMetrics)
        #expect((error == nil) == valid, "\(error.map(String.init(describing:)) ?? "accepted")")
    }
}
