/// A place in the source as the formatter needs it: the byte offset (what Alloy's printer
/// compares to decide whether a comment comes before a token) with its line and column.
struct FormatterPosition: Sendable, Equatable {
    var offset: Int
    var line: Int
    var column: Int

    /// No position yet (line 0), as Alloy's zero `token.Position`.
    static let unknown = FormatterPosition(offset: 0, line: 0, column: 0)

    var isValid: Bool { line > 0 }
}

/// The syntax tree the formatter prints: the parser's shape, plus what layout depends on and
/// ``SyntaxFile`` leaves out: where brackets, commas, `=` and `.` are, the lines where nodes
/// end, and the literals' source text.
enum FormatterSyntax {
    /// One element of a body.
    enum Statement {
        case attribute(name: String, at: FormatterPosition, assign: FormatterPosition, value: Expression)
        case block(Block)

        /// The line of the first token.
        var startLine: Int {
            switch self {
            case .attribute(_, let position, _, _): position.line
            case .block(let block): block.name.line
            }
        }

        /// The line of the last token.
        var endLine: Int {
            switch self {
            case .attribute(_, _, _, let value): value.endLine
            case .block(let block): block.rightBrace.line
            }
        }
    }

    /// `name.parts "label" { body }`.
    struct Block {
        var nameText: String
        var name: FormatterPosition
        /// The decoded label and where it is.
        var label: (text: String, at: FormatterPosition)?
        var leftBrace: FormatterPosition
        var body: [Statement]
        var rightBrace: FormatterPosition
    }

    /// `key = value` in an object literal.
    struct Field {
        /// The decoded key.
        var key: String
        var quoted: Bool
        var keyStart: FormatterPosition
        var keyEndLine: Int
        var assign: FormatterPosition
        var value: Expression
        /// The comma after the field, when the source has one.
        var comma: FormatterPosition?
    }

    /// An element of a list or an argument of a call, with the comma after it, when the source has one.
    struct Element {
        var value: Expression
        var comma: FormatterPosition?
    }

    /// A binary operator and its right operand, in a left-to-right chain.
    struct Operation {
        var symbol: String
        var at: FormatterPosition
        var operand: Expression
    }

    /// An expression. Binary operators are kept as a flat chain: the printed tokens, the
    /// start and the end do not depend on how precedence groups them.
    indirect enum Expression {
        /// A string as written (quotes and escapes included).
        case string(text: String, at: FormatterPosition, endLine: Int)
        /// A number, `true`, `false`, `null` or an identifier.
        case word(text: String, isNumber: Bool, at: FormatterPosition)
        case array(elements: [Element], leftBracket: FormatterPosition, rightBracket: FormatterPosition)
        case object(fields: [Field], leftBrace: FormatterPosition, rightBrace: FormatterPosition)
        case access(base: Expression, dot: FormatterPosition, name: String, nameAt: FormatterPosition)
        case index(base: Expression, index: Expression, leftBracket: FormatterPosition, rightBracket: FormatterPosition)
        case call(
            function: Expression, arguments: [Element], leftParenthesis: FormatterPosition,
            rightParenthesis: FormatterPosition)
        case unary(symbol: String, at: FormatterPosition, operand: Expression)
        case binary(first: Expression, rest: [Operation])
        case parenthesized(inner: Expression, leftParenthesis: FormatterPosition, rightParenthesis: FormatterPosition)

        /// The line of the first token.
        var startLine: Int {
            switch self {
            case .string(_, let at, _), .word(_, _, let at), .unary(_, let at, _): at.line
            case .array(_, let left, _), .object(_, let left, _), .parenthesized(_, let left, _): left.line
            case .access(let base, _, _, _), .index(let base, _, _, _), .call(let base, _, _, _), .binary(let base, _):
                base.startLine
            }
        }

        /// The line of the last token.
        var endLine: Int {
            switch self {
            case .string(_, _, let endLine): endLine
            case .word(_, _, let at): at.line
            case .array(_, _, let right), .object(_, _, let right), .index(_, _, _, let right),
                .call(_, _, _, let right), .parenthesized(_, _, let right):
                right.line
            case .access(_, _, _, let nameAt): nameAt.line
            case .unary(_, _, let operand): operand.endLine
            case .binary(let first, let rest): rest.last?.operand.endLine ?? first.endLine
            }
        }
    }

    /// A comment as Alloy's printer keeps it: its text (without a line ending) and where it starts.
    struct Comment {
        var text: String
        var start: FormatterPosition

        var isBlock: Bool { text.hasPrefix("/*") }
        /// The line of its last character.
        var endLine: Int { start.line + text.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } }
    }
}

/// Builds a ``FormatterSyntax`` tree from the tokens of a file the ``Parser`` accepted, by the
/// same grammar; and groups its comments as Alloy's parser does.
struct FormatterSyntaxBuilder {
    private let tokens: [Token]
    private let source: [UInt8]
    /// The byte offset where each line starts.
    private let lineStarts: [Int]
    private let filename: String
    private var index = 0

    /// Parses `source` and returns its tree and comment groups, or the parser's diagnostic.
    static func build(source: String, filename: String) throws(Diagnostic) -> (
        body: [FormatterSyntax.Statement], comments: [[FormatterSyntax.Comment]]
    ) {
        // The parser validates and reports errors exactly as `agentd run` does.
        _ = try Parser.parse(source: source, filename: filename)
        let (tokens, comments) = try Lexer.tokenize(source: source, filename: filename)
        var builder = FormatterSyntaxBuilder(tokens: tokens, source: Array(source.utf8), filename: filename)
        let body = try builder.body(closedBy: nil)
        return (body, builder.group(comments))
    }

    private init(tokens: [Token], source: [UInt8], filename: String) {
        self.tokens = tokens
        self.source = source
        self.filename = filename
        var starts = [0]
        for (offset, byte) in source.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        self.lineStarts = starts
    }

    private func position(_ position: SourcePosition) -> FormatterPosition {
        let lineStart = position.line - 1 < lineStarts.count ? lineStarts[position.line - 1] : source.count
        return FormatterPosition(offset: lineStart + position.column - 1, line: position.line, column: position.column)
    }

    private var current: Token { tokens[index] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    /// A token the parser would not have accepted here: never expected, as the parser ran first.
    private func unexpected() -> Diagnostic {
        Diagnostic(
            filename: filename, position: current.position, message: "the formatter cannot place \(current.kind)")
    }

    private mutating func expect(_ kind: Token.Kind) throws(Diagnostic) -> FormatterPosition {
        guard current.kind == kind else { throw unexpected() }
        return position(advance().position)
    }

    /// Alloy's comment groups: runs of comments with no token between them, each starting at
    /// most one line after the previous one ends.
    private func group(_ comments: [Lexer.Comment]) -> [[FormatterSyntax.Comment]] {
        var groups: [[FormatterSyntax.Comment]] = []
        var endLine = Int.min
        var nextToken = 0
        for comment in comments {
            var tokenBetween = false
            while nextToken < tokens.count - 1, tokens[nextToken].position < comment.position {
                nextToken += 1
                tokenBetween = true
            }
            // Alloy keeps no carriage returns in comments.
            let text = String(decoding: comment.text.utf8.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
            let formatted = FormatterSyntax.Comment(text: text, start: position(comment.position))
            if !tokenBetween, comment.position.line <= endLine + 1, !groups.isEmpty {
                groups[groups.count - 1].append(formatted)
            } else {
                groups.append([formatted])
            }
            endLine = formatted.endLine
        }
        return groups
    }

    // MARK: Bodies

    private mutating func body(closedBy closing: Token.Kind?) throws(Diagnostic) -> [FormatterSyntax.Statement] {
        var statements: [FormatterSyntax.Statement] = []
        while current.kind != closing, current.kind != .endOfFile {
            statements.append(try statement())
        }
        return statements
    }

    private mutating func statement() throws(Diagnostic) -> FormatterSyntax.Statement {
        guard case .identifier(var name) = current.kind else { throw unexpected() }
        let start = position(advance().position)
        if current.kind == .assign {
            let assign = position(advance().position)
            return .attribute(name: name, at: start, assign: assign, value: try expression())
        }
        while current.kind == .dot {
            _ = advance()
            guard case .identifier(let part) = current.kind else { throw unexpected() }
            _ = advance()
            name += "." + part
        }
        var label: (String, FormatterPosition)?
        if case .string(let text) = current.kind {
            label = (text, position(advance().position))
        }
        let leftBrace = try expect(.leftBrace)
        let body = try body(closedBy: .rightBrace)
        let rightBrace = try expect(.rightBrace)
        return .block(
            FormatterSyntax.Block(
                nameText: name, name: start, label: label, leftBrace: leftBrace, body: body, rightBrace: rightBrace))
    }

    // MARK: Expressions

    private mutating func expression() throws(Diagnostic) -> FormatterSyntax.Expression {
        let first = try unary()
        var rest: [FormatterSyntax.Operation] = []
        while let symbol = binarySymbol {
            let at = position(advance().position)
            rest.append(FormatterSyntax.Operation(symbol: symbol, at: at, operand: try unary()))
        }
        return rest.isEmpty ? first : .binary(first: first, rest: rest)
    }

    private var binarySymbol: String? {
        switch current.kind {
        case .or: "||"
        case .and: "&&"
        case .equal: "=="
        case .notEqual: "!="
        case .less: "<"
        case .lessEqual: "<="
        case .greater: ">"
        case .greaterEqual: ">="
        case .plus: "+"
        case .minus: "-"
        case .star: "*"
        case .slash: "/"
        case .percent: "%"
        case .caret: "^"
        default: nil
        }
    }

    private mutating func unary() throws(Diagnostic) -> FormatterSyntax.Expression {
        let symbol: String
        switch current.kind {
        case .not: symbol = "!"
        case .minus: symbol = "-"
        default: return try postfix()
        }
        let at = position(advance().position)
        return .unary(symbol: symbol, at: at, operand: try unary())
    }

    private mutating func postfix() throws(Diagnostic) -> FormatterSyntax.Expression {
        var expression = try primary()
        while true {
            switch current.kind {
            case .dot:
                let dot = position(advance().position)
                guard case .identifier(let name) = current.kind else { throw unexpected() }
                expression = .access(base: expression, dot: dot, name: name, nameAt: position(advance().position))
            case .leftBracket where !current.followsNewline:
                let left = position(advance().position)
                let subscriptExpression = try self.expression()
                let right = try expect(.rightBracket)
                expression = .index(
                    base: expression, index: subscriptExpression, leftBracket: left, rightBracket: right)
            case .leftParen where !current.followsNewline:
                let left = position(advance().position)
                let arguments = try elements(closedBy: .rightParen) { builder throws(Diagnostic) in
                    try builder.expression()
                }
                expression = .call(
                    function: expression,
                    arguments: arguments.elements.map { FormatterSyntax.Element(value: $0.element, comma: $0.comma) },
                    leftParenthesis: left,
                    rightParenthesis: arguments.closing)
            default:
                return expression
            }
        }
    }

    private mutating func primary() throws(Diagnostic) -> FormatterSyntax.Expression {
        let token = current
        let at = position(token.position)
        switch token.kind {
        case .string:
            _ = advance()
            let end = position(token.end)
            return .string(
                text: String(decoding: source[at.offset..<end.offset], as: UTF8.self), at: at, endLine: end.line)
        case .number(let text):
            _ = advance()
            return .word(text: text, isNumber: true, at: at)
        case .identifier(let name):
            _ = advance()
            return .word(text: name, isNumber: false, at: at)
        case .leftParen:
            _ = advance()
            let inner = try expression()
            let right = try expect(.rightParen)
            return .parenthesized(inner: inner, leftParenthesis: at, rightParenthesis: right)
        case .leftBracket:
            _ = advance()
            let items = try elements(closedBy: .rightBracket) { builder throws(Diagnostic) in
                try builder.expression()
            }
            return .array(
                elements: items.elements.map { FormatterSyntax.Element(value: $0.element, comma: $0.comma) },
                leftBracket: at, rightBracket: items.closing)
        case .leftBrace:
            _ = advance()
            let fields = try elements(closedBy: .rightBrace) { builder throws(Diagnostic) in
                try builder.field()
            }
            return .object(
                fields: fields.elements.map {
                    var field = $0.element
                    field.comma = $0.comma
                    return field
                }, leftBrace: at, rightBrace: fields.closing)
        default:
            throw unexpected()
        }
    }

    private mutating func field() throws(Diagnostic) -> FormatterSyntax.Field {
        let token = current
        let key: String
        let quoted: Bool
        switch token.kind {
        case .identifier(let name):
            key = name
            quoted = false
        case .string(let text):
            key = text
            quoted = true
        default:
            throw unexpected()
        }
        _ = advance()
        let assign = try expect(.assign)
        return FormatterSyntax.Field(
            key: key, quoted: quoted, keyStart: position(token.position), keyEndLine: token.end.line, assign: assign,
            value: try expression())
    }

    /// Comma-separated elements up to `closing`, each with the comma after it, and where
    /// `closing` is.
    private mutating func elements<Element>(
        closedBy closing: Token.Kind, _ element: (inout FormatterSyntaxBuilder) throws(Diagnostic) -> Element
    ) throws(Diagnostic) -> (elements: [(element: Element, comma: FormatterPosition?)], closing: FormatterPosition) {
        var items: [(element: Element, comma: FormatterPosition?)] = []
        while current.kind != closing {
            items.append((try element(&self), nil))
            if current.kind == .comma {
                items[items.count - 1].comma = position(advance().position)
            } else if current.kind != closing {
                throw unexpected()
            }
        }
        return (items, try expect(closing))
    }
}
