import Events
import Foundation

/// A PromQL series selector such as `up{job="node", instance=~"node-.*"}`, for
/// `agentd replay --match`. Regular expressions are fully anchored, as in PromQL.
public struct SeriesSelector: Sendable, CustomStringConvertible {
    public enum Operator: String, Sendable { case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~" }

    public struct Matcher: @unchecked Sendable {
        public var name: String
        public var op: Operator
        public var value: String
        fileprivate var regex: NSRegularExpression?

        func matches(_ actual: String) -> Bool {
            switch op {
            case .equal: return actual == value
            case .notEqual: return actual != value
            case .matches, .notMatches:
                let range = NSRange(actual.startIndex..., in: actual)
                let hit = regex?.firstMatch(in: actual, options: [.anchored], range: range)
                let full = hit.map { $0.range.location == 0 && $0.range.length == range.length } ?? false
                return op == .matches ? full : !full
            }
        }
    }

    public var matchers: [Matcher]
    public let description: String

    /// Parses a selector; the error names the column.
    public init(_ text: String) throws {
        description = text
        var matchers: [Matcher] = []
        var index = text.startIndex
        func fail(_ message: String) -> SelectorError {
            SelectorError(selector: text, column: text.distance(from: text.startIndex, to: index) + 1, message: message)
        }
        func skipSpace() { while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) } }
        func identifier() -> String {
            let start = index
            while index < text.endIndex,
                text[index].isLetter || text[index].isNumber || text[index] == "_" || text[index] == ":"
            {
                index = text.index(after: index)
            }
            return String(text[start..<index])
        }
        skipSpace()
        let name = identifier()
        if !name.isEmpty { matchers.append(Matcher(name: "__name__", op: .equal, value: name)) }
        skipSpace()
        if index < text.endIndex {
            guard text[index] == "{" else { throw fail("expected \"{\" or the end of the selector") }
            index = text.index(after: index)
            while true {
                skipSpace()
                if index < text.endIndex, text[index] == "}" {
                    index = text.index(after: index)
                    break
                }
                let label = identifier()
                guard !label.isEmpty else { throw fail("expected a label name") }
                skipSpace()
                let rest = text[index...]
                let op: Operator
                if rest.hasPrefix("=~") {
                    op = .matches
                } else if rest.hasPrefix("!~") {
                    op = .notMatches
                } else if rest.hasPrefix("!=") {
                    op = .notEqual
                } else if rest.hasPrefix("=") {
                    op = .equal
                } else {
                    throw fail("expected =, !=, =~ or !~ after \"\(label)\"")
                }
                index = text.index(index, offsetBy: op.rawValue.count)
                skipSpace()
                guard index < text.endIndex, text[index] == "\"" || text[index] == "'" else {
                    throw fail("expected a quoted value for \"\(label)\"")
                }
                let quote = text[index]
                index = text.index(after: index)
                var value = ""
                while index < text.endIndex, text[index] != quote {
                    if text[index] == "\\", text.index(after: index) < text.endIndex {
                        index = text.index(after: index)
                        switch text[index] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: value.append(text[index])
                        }
                    } else {
                        value.append(text[index])
                    }
                    index = text.index(after: index)
                }
                guard index < text.endIndex else { throw fail("unterminated string") }
                index = text.index(after: index)
                var matcher = Matcher(name: label, op: op, value: value)
                if op == .matches || op == .notMatches {
                    do {
                        matcher.regex = try NSRegularExpression(pattern: "^(?:\(value))$")
                    } catch {
                        throw fail("invalid regular expression \"\(value)\"")
                    }
                }
                matchers.append(matcher)
                skipSpace()
                if index < text.endIndex, text[index] == "," { index = text.index(after: index) }
            }
            skipSpace()
            guard index == text.endIndex else { throw fail("unexpected text after the selector") }
        }
        guard !matchers.isEmpty else { throw fail("empty selector") }
        self.matchers = matchers
    }

    public func matches(_ labels: Labels) -> Bool {
        matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
    }
}

public struct SelectorError: Error, CustomStringConvertible {
    public var selector: String
    public var column: Int
    public var message: String

    public var description: String { "--match \(selector): column \(column): \(message)" }
}
