import Testing

@testable import Config

/// Inputs `fuzz-config` found (docs/fuzzing.md).
@Suite struct ParserFuzzRegressionTests {
    private let context = EvaluationContext(hostname: "host-a", nodeName: "agentd-2")

    private func failure(_ source: String) -> Diagnostic? {
        #expect(throws: Diagnostic.self) {
            try AgentConfig.parse(source: source, filename: "config.alloy", context: context)
        }
    }

    /// fuzz-config's input (minimized): a call whose argument opens 1,100 parentheses. The
    /// recursive descent overflowed the stack (AddressSanitizer: stack-overflow) and took the
    /// agent down with it, at start or on a reload.
    @Test func deeplyNestedParenthesesAreAnErrorNotAStackOverflow() throws {
        let source = "logging {\nrgets = [\n{\"__address__\"  = [pr" + String(repeating: "(", count: 1_100)
        let diagnostic = try #require(failure(source))
        #expect(diagnostic.message.contains("nest more than 100 levels"))
        #expect(diagnostic.position.line == 3)
    }

    /// Every construct that nests, nested far too deep (and, just within the limit, still fine).
    @Test(arguments: [
        ("[", "]"), ("(", ")"), ("{a = ", "}"), ("-", ""), ("!", ""), ("f(", ")"), ("x[", "]"), ("2 ^ ", ""),
    ])
    func everyKindOfNestingIsBounded(open: String, close: String) throws {
        let deep = 5_000
        let source =
            "a {\n b = " + String(repeating: open, count: deep) + "1" + String(repeating: close, count: deep) + "\n}"
        let diagnostic = try #require(failure(source))
        #expect(diagnostic.message.contains("nest more than \(Parser.maximumDepth) levels"))
        // Within the limit the parser goes on (and the component is what fails).
        let shallow = 40
        let fine =
            "a {\n b = " + String(repeating: open, count: shallow) + "1" + String(repeating: close, count: shallow)
            + "\n}"
        let other = try #require(failure(fine))
        #expect(!other.message.contains("levels"))
    }

    @Test func deeplyNestedBlocksAreAnError() throws {
        let deep = 5_000
        let source = String(repeating: "a {\n", count: deep) + String(repeating: "}\n", count: deep)
        let diagnostic = try #require(failure(source))
        #expect(diagnostic.message.contains("nest more than \(Parser.maximumDepth) levels"))
    }
}
