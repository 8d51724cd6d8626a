import Foundation
import Primitives
import Testing

@testable import Config

/// `agentd fmt`'s formatting: Alloy's layout, idempotent, and never a change of meaning.
@Suite("Alloy formatter")
struct FormatterTests {
    private static let repository = String(#filePath.dropLast("Tests/ConfigTests/FormatterTests.swift".count))

    /// Every configuration the project ships or tests with: examples/, the fixtures and the
    /// shared scenario.
    static let configurations: [String] = {
        var paths: [String] = []
        for directory in ["examples", "Tests/ConfigTests/Fixtures", "../shared/scenario"] {
            let root = repository + directory
            let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
            paths += files.filter { $0.hasSuffix(".alloy") }.map { root + "/" + $0 }
        }
        return paths.sorted()
    }()

    private func format(_ source: String) throws -> String {
        try AlloyFormatter.format(source, filename: "config.alloy")
    }

    /// Formatting twice gives what formatting once gave, and the syntax tree is the input's.
    private func expectStable(_ source: String, _ comment: Comment? = nil) throws {
        let once = try format(source)
        #expect(try format(once) == once, comment)
        #expect(
            try shape(Parser.parse(source: once, filename: "formatted.alloy"))
                == shape(Parser.parse(source: source, filename: "source.alloy")), comment)
    }

    @Test func theProjectsConfigurationsAreFound() {
        #expect(Self.configurations.count >= 7, "\(Self.configurations)")
    }

    @Test(arguments: configurations)
    func everyConfigurationFormatsIdempotentlyToTheSameSyntax(path: String) throws {
        try expectStable(try String(contentsOfFile: path, encoding: .utf8), "\(path)")
    }

    @Test(arguments: configurations)
    func theProjectsConfigurationsAreAlreadyFormatted(path: String) throws {
        let source = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try format(source) == source, "\(path)")
    }

    @Test func aMessyConfigurationFormatsAsAlloyDoes() throws {
        let messy = """
            // agentd configuration



            logging {
                level = "info"   // how much
              format="logfmt" // how


               // a comment on its own line
            x=1
            }
            prometheus.scrape "nodes" {
              targets = [{"__address__" = "a:9100", job="node"},
                 {"__address__"="b:9100"},
              ]
              forward_to=[prometheus.remote_write.default.receiver]
              scrape_interval   =   "15s"
              clustering { enabled = true }
              inner {
              settings = {
              short = 1,
                 a_longer_key = "v", // why
                 multi = [
              1, 2,
              ],
                 after = false,
             }
              }
              empty {

              }
              /* before */ y = -1 + 2*3
            }


            z = concat(["a"],
              ["b"])
            // the end
            """
        let expected = """
            // agentd configuration

            logging {
            \tlevel  = "info"   // how much
            \tformat = "logfmt" // how

            \t// a comment on its own line
            \tx = 1
            }

            prometheus.scrape "nodes" {
            \ttargets = [{"__address__" = "a:9100", job = "node"},
            \t\t{"__address__" = "b:9100"},
            \t]
            \tforward_to      = [prometheus.remote_write.default.receiver]
            \tscrape_interval = "15s"

            \tclustering {
            \t\tenabled = true
            \t}

            \tinner {
            \t\tsettings = {
            \t\t\tshort        = 1,
            \t\t\ta_longer_key = "v", // why
            \t\t\tmulti        = [
            \t\t\t\t1, 2,
            \t\t\t],
            \t\t\tafter = false,
            \t\t}
            \t}

            \tempty { }
            \t/* before */ y = -1 + 2 * 3
            }

            z = concat(["a"],
            \t["b"])
            // the end

            """
        #expect(try format(messy) == expected)
        try expectStable(messy)
    }

    @Test(arguments: [
        // Alignment: a blank line ends the run, and so does a statement spanning lines.
        ("a = 1\nlong_name = 2\n\nc = 3\n", "a         = 1\nlong_name = 2\n\nc = 3\n"),
        ("a = [\n1,\n]\nlong_name = 2\n", "a = [\n\t1,\n]\nlong_name = 2\n"),
        // Trailing comments align across the run; a block comment before more text gets a space.
        ("a = 1 // x\nbb = 22 // y\n", "a  = 1  // x\nbb = 22 // y\n"),
        ("a = /* x */ 1\n", "a = /* x */ 1\n"),
        // Blocks: one blank line between, `{ }` when empty, labels as Go's %q writes them.
        ("a {}\nb \"x\" {\n\n\n}\n", "a { }\n\nb \"x\" { }\n"),
        ("b `raw` {}\n", "b \"raw\" { }\n"),
        ("b \"tab\\there\" {}\n", "b \"tab\\there\" { }\n"),
        // Lists and objects stay on one line when written so, and gain a trailing comma when not.
        ("a = [1,2,  3]\n", "a = [1, 2, 3]\n"),
        ("a = [\n1,\n2]\n", "a = [\n\t1,\n\t2]\n"),
        ("a = [\n1,\n2,\n]\n", "a = [\n\t1,\n\t2,\n]\n"),
        ("a = { b = 1, \"c d\" = 2 }\n", "a = {b = 1, \"c d\" = 2}\n"),
        ("a = {\nb = 1,\nccc = 2}\n", "a = {\n\tb   = 1,\n\tccc = 2}\n"),
        ("a = {b = [\n1,\n]}\n", "a = {b = [\n\t\t1,\n\t],\n}\n"),
        ("a = []\nb = {}\nc = f()\n", "a = []\nb = {}\nc = f()\n"),
        // Expressions: operators spaced, no space after a prefix operator, accesses and indexes tight.
        ("a = !b&&c||d[0].e\n", "a = !b && c || d[0].e\n"),
        ("a = (1+2)*-3\n", "a = (1 + 2) * -3\n"),
        // Line breaks inside an expression go, and the statement aligns as a one-line one
        // (Alloy aligns it only on a second run).
        ("x = 1 +\n  2\nlong_name = 3\n", "x         = 1 + 2\nlong_name = 3\n"),
        // Carriage returns go; the last line gets its newline; a file of nothing stays nothing.
        ("a = 1\r\n// c\r\n", "a = 1\n// c\n"),
        ("a = 1", "a = 1\n"),
        ("", "\n"),
        ("\n\n// only a comment\n\n", "// only a comment\n"),
        // A formfeed in a comment is no line break (Alloy's printer counts one, and would join
        // the next comment to this one's line; found by fuzz-config).
        ("// a\u{0C}b\n// c\nx = 1 // d\u{0C}\nlong = 2\n", "// a\u{0C}b\n// c\nx    = 1 // d\u{0C}\nlong = 2\n"),
    ])
    func formatsAsAlloyDoes(source: String, expected: String) throws {
        #expect(try format(source) == expected)
        try expectStable(source)
    }

    @Test(arguments: [
        // Alloy would print `f(,` here, which does not parse.
        "a = f(\n)\n",
        // Alloy places a comment by estimated positions of `,`, `.`, `(`, `)` and `=`, which
        // can put it after the token that follows it, or that token inside a line comment.
        "a = f(b, // why\n)\n",
        "a = [b // why\n, c]\n",
        "a = {b = 1 // why\n, c = 2}\n",
        "a = x // why\n.y\n",
        "a = [1 // why\n,]\n",
        // Strings, raw strings included, are kept byte for byte.
        "a = `x \t \n  y  \n`\nbb = \"\\u00e9\\t\"\n",
        "b \"\" { }\n",
        "a = 1 + // why\n 2\n",
        "a = 1. /* c */ b\n",
        "a = x.y /* c */ [0]\n",
        "/* one */ /* two */ a = 1 /* three */\n/* four\n five */\n",

    ])
    func keepsTheMeaningWhereAlloysPrinterWouldNot(source: String) throws {
        try expectStable(source, "\(source.debugDescription)")
    }

    /// Random token soup, and the project's configurations with random pieces inserted and
    /// removed (seeded, so a failure reproduces): whatever parses formats stably.
    @Test func randomInputsThatParseFormatIdempotentlyToTheSameSyntax() throws {
        let pieces = [
            "a", "bb", "c.d", "\"s\"", "`r\n x`", "1", "2.5", "=", "{", "}", "[", "]", "(", ")", ",", ".", "+", "-",
            "*", "/", "!", "&&", "==", "\n", "\n", "\n\n", " ", "\t", "// c\n", "# h\n", "/* b */", "/* m\n l */",
            "true", "null", "f", "\"k\" =", "x =", "blk \"l\" {", "}",
        ]
        let seeds = try Self.configurations.map { Array(try String(contentsOfFile: $0, encoding: .utf8).utf8) }
        var random = SplitMix64(seed: 16)
        var parsed = 0
        for iteration in 0..<4000 {
            var bytes: [UInt8] = []
            if iteration % 2 == 0, let seed = seeds.randomElement(using: &random) {
                bytes = seed
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let at = Int.random(in: 0...bytes.count, using: &random)
                    if Bool.random(using: &random), at < bytes.count {
                        bytes.remove(at: at)
                    } else {
                        bytes.insert(contentsOf: pieces.randomElement(using: &random)!.utf8, at: at)
                    }
                }
            } else {
                for _ in 0..<Int.random(in: 1...30, using: &random) {
                    bytes += pieces.randomElement(using: &random)!.utf8
                    if Bool.random(using: &random) { bytes.append(UInt8(ascii: " ")) }
                }
            }
            let source = String(decoding: bytes, as: UTF8.self)
            guard (try? Parser.parse(source: source, filename: "random.alloy")) != nil else { continue }
            parsed += 1
            try expectStable(source, "\(source.debugDescription)")
        }
        #expect(parsed > 500)
    }

    @Test func aSyntaxErrorIsTheParsersDiagnostic() {
        let error = #expect(throws: Diagnostic.self) {
            try AlloyFormatter.format("a {\n  b = [1,\n  2\n]\n}\n", filename: "bad.alloy")
        }
        #expect(error?.description == "bad.alloy:3:4: missing \",\" before newline in list")
    }
}

/// The syntax tree without positions: what formatting must not change.
func shape(_ file: SyntaxFile) -> String {
    file.body.map(shape).joined(separator: "\n")
}

private func shape(_ statement: Config.Statement) -> String {
    switch statement {
    case .attribute(let attribute):
        "\(attribute.name) = \(shape(attribute.value))"
    case .block(let block):
        "\(block.name) \(block.label.map { "label(\($0.debugDescription))" } ?? "-") { "
            + block.body.map(shape).joined(separator: "; ") + " }"
    }
}

private func shape(_ expression: Config.Expression) -> String {
    switch expression {
    case .string(let text, _): "string(\(text.debugDescription))"
    case .number(let text, _): "number(\(text))"
    case .bool(let value, _): "bool(\(value))"
    case .null: "null"
    case .identifier(let name, _): "identifier(\(name))"
    case .array(let elements, _): "[" + elements.map(shape).joined(separator: ", ") + "]"
    case .object(let fields, _):
        "{"
            + fields.map { "\($0.quoted ? $0.key.debugDescription : $0.key) = \(shape($0.value))" }
            .joined(separator: ", ") + "}"
    case .field(let base, let name, _): "field(\(shape(base)), \(name))"
    case .index(let base, let index, _): "index(\(shape(base)), \(shape(index)))"
    case .call(let function, let arguments, _):
        "call(\(shape(function)), [" + arguments.map(shape).joined(separator: ", ") + "])"
    case .unary(let op, let operand, _): "unary(\(op.rawValue), \(shape(operand)))"
    case .binary(let op, let left, let right, _): "binary(\(op.rawValue), \(shape(left)), \(shape(right)))"
    case .parenthesized(let inner, _): "(\(shape(inner)))"
    }
}
