/// A malformed exposition, or one past a limit: what was wrong and where (1-based line, 1-based
/// byte column).
public struct ExpositionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem: the exposition's syntax, or one of the ``ExpositionLimits`` or the
    /// deadline it was parsed with.
    public enum Kind: Sendable, Hashable {
        case syntax
        case sampleLimit
        case labelLimit
        case labelNameLengthLimit
        case labelValueLengthLimit
        /// Parsing ran past its deadline.
        case timedOut
    }

    public var line: Int
    public var column: Int
    public var message: String
    public var kind: Kind

    public init(line: Int, column: Int, message: String, kind: Kind = .syntax) {
        self.line = line
        self.column = column
        self.message = message
        self.kind = kind
    }

    /// `line:column: message`, e.g. `3:17: expected '=' after label name "job"`.
    public var description: String { "\(line):\(column): \(message)" }
}
