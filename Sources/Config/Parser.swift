/// A recursive-descent parser of the Alloy syntax.
///
/// Statements end at a newline (or at the `}` closing their block); inside lists and objects
/// newlines are free, elements are separated by commas, and, as in Alloy, a newline before
/// the closing bracket needs a trailing comma.
struct Parser {
    /// How deep blocks and expressions may nest (each block, bracket, parenthesis, call,
    /// prefix operator and `^` is a level): far beyond any real configuration, and shallow
    /// enough that this recursive descent, and the evaluator after it, stay well within a
    /// thread's stack whatever the input.
    static let maximumDepth = 100

    private let tokens: [Token]
    private let filename: String
    private var index = 0
    private var depth = 0

    /// Parses a whole file.
    static func parse(source: String, filename: String) throws(Diagnostic) -> SyntaxFile {
        let (tokens, _) = try Lexer.tokenize(source: source, filename: filename)
        var parser = Parser(tokens: tokens, filename: filename)
        return SyntaxFile(body: try parser.body(closedBy: nil))
    }

    private init(tokens: [Token], filename: String) {
        self.tokens = tokens
        self.filename = filename
    }

    private var current: Token { tokens[index] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ message: String, at position: SourcePosition? = nil) -> Diagnostic {
        Diagnostic(filename: filename, position: position ?? current.position, message: message)
    }

    /// Enters one more level of nesting; the caller leaves it with `depth -= 1`.
    private mutating func descend() throws(Diagnostic) {
        guard depth < Self.maximumDepth else {
            throw error("blocks and expressions nest more than \(Self.maximumDepth) levels deep here")
        }
        depth += 1
    }

    private mutating func expect(_ kind: Token.Kind, _ context: String) throws(Diagnostic) -> Token {
        guard current.kind == kind else {
            throw error("expected \(kind) \(context), found \(current.kind)")
        }
        return advance()
    }

    // MARK: Bodies

    private mutating func body(closedBy closing: Token.Kind?) throws(Diagnostic) -> [Statement] {
        var statements: [Statement] = []
        while true {
            if let closing, current.kind == closing { return statements }
            if current.kind == .endOfFile {
                if closing == nil { return statements }
                throw error("expected \"}\" to close the block, found end of file")
            }
            if !statements.isEmpty, !current.followsNewline {
                throw error("expected a newline after the previous statement, found \(current.kind)")
            }
            statements.append(try statement())
        }
    }

    private mutating func statement() throws(Diagnostic) -> Statement {
        guard case .identifier(let first) = current.kind else {
            throw error("expected an attribute or a block, found \(current.kind)")
        }
        let start = advance().position
        var name = first
        switch current.kind {
        case .assign:
            _ = advance()
            return .attribute(Attribute(name: name, position: start, value: try expression()))
        case .leftBrace, .string, .dot:
            while current.kind == .dot {
                _ = advance()
                guard case .identifier(let part) = current.kind else {
                    throw error("expected an identifier after \".\" in block name \"\(name)\", found \(current.kind)")
                }
                _ = advance()
                name += "." + part
            }
            var label: String?
            var labelPosition: SourcePosition?
            if case .string(let text) = current.kind {
                labelPosition = current.position
                label = text
                _ = advance()
            }
            guard current.kind == .leftBrace else {
                let what = name.contains(".") || label != nil ? "block name \"\(name)\"" : "identifier \"\(name)\""
                let expected = label == nil ? "a label or \"{\"" : "\"{\""
                throw error("expected \(expected) after \(what), found \(current.kind)")
            }
            _ = advance()
            try descend()
            let body = try body(closedBy: .rightBrace)
            depth -= 1
            let end = advance().position
            return .block(
                Block(name: name, position: start, label: label, labelPosition: labelPosition, body: body, end: end))
        default:
            throw error("expected \"=\" or \"{\" after identifier \"\(name)\", found \(current.kind)")
        }
    }

    // MARK: Expressions

    mutating func expression() throws(Diagnostic) -> Expression {
        try descend()
        defer { depth -= 1 }
        return try binary(minimumPrecedence: 1)
    }

    private var binaryOperator: BinaryOperator? {
        switch current.kind {
        case .or: .or
        case .and: .and
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessEqual: .lessEqual
        case .greater: .greater
        case .greaterEqual: .greaterEqual
        case .plus: .plus
        case .minus: .minus
        case .star: .multiply
        case .slash: .divide
        case .percent: .modulo
        case .caret: .power
        default: nil
        }
    }

    private mutating func binary(minimumPrecedence: Int) throws(Diagnostic) -> Expression {
        var left = try unary()
        while let op = binaryOperator, op.precedence >= minimumPrecedence {
            let position = advance().position
            // `^` is right-associative, the others left-associative.
            try descend()
            let right = try binary(minimumPrecedence: op == .power ? op.precedence : op.precedence + 1)
            depth -= 1
            left = .binary(op, left, right, position)
        }
        return left
    }

    private mutating func unary() throws(Diagnostic) -> Expression {
        let op: UnaryOperator
        switch current.kind {
        case .not: op = .not
        case .minus: op = .negate
        default: return try postfix()
        }
        let position = advance().position
        try descend()
        defer { depth -= 1 }
        return .unary(op, try unary(), position)
    }

    private mutating func postfix() throws(Diagnostic) -> Expression {
        var expression = try primary()
        while true {
            switch current.kind {
            case .dot:
                let position = advance().position
                guard case .identifier(let name) = current.kind else {
                    throw error("expected a field name after \".\", found \(current.kind)")
                }
                _ = advance()
                expression = .field(expression, name, position)
            case .leftBracket where !current.followsNewline:
                let position = advance().position
                let subscriptExpression = try self.expression()
                _ = try expect(.rightBracket, "to close the index")
                expression = .index(expression, subscriptExpression, position)
            case .leftParen where !current.followsNewline:
                let position = advance().position
                let arguments = try elements(closedBy: .rightParen, what: "argument list") {
                    parser throws(Diagnostic) in
                    try parser.expression()
                }
                expression = .call(expression, arguments, position)
            default:
                return expression
            }
        }
    }

    private mutating func primary() throws(Diagnostic) -> Expression {
        let token = current
        switch token.kind {
        case .string(let text):
            _ = advance()
            return .string(text, token.position)
        case .number(let text):
            _ = advance()
            return .number(text, token.position)
        case .identifier("true"):
            _ = advance()
            return .bool(true, token.position)
        case .identifier("false"):
            _ = advance()
            return .bool(false, token.position)
        case .identifier("null"):
            _ = advance()
            return .null(token.position)
        case .identifier(let name):
            _ = advance()
            return .identifier(name, token.position)
        case .leftParen:
            _ = advance()
            let inner = try expression()
            _ = try expect(.rightParen, "to close the parenthesis")
            return .parenthesized(inner, token.position)
        case .leftBracket:
            _ = advance()
            let items = try elements(closedBy: .rightBracket, what: "list") { parser throws(Diagnostic) in
                try parser.expression()
            }
            return .array(items, token.position)
        case .leftBrace:
            _ = advance()
            let fields = try elements(closedBy: .rightBrace, what: "object") { parser throws(Diagnostic) in
                try parser.objectField()
            }
            return .object(fields, token.position)
        default:
            throw error("expected an expression, found \(token.kind)")
        }
    }

    private mutating func objectField() throws(Diagnostic) -> ObjectField {
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
            throw error("expected an object key (identifier or string), found \(token.kind)")
        }
        _ = advance()
        guard current.kind == .assign else {
            let hint = current.kind == .colon ? " (Alloy objects use \"=\", not \":\")" : ""
            throw error("expected \"=\" after object key \"\(key)\", found \(current.kind)\(hint)")
        }
        _ = advance()
        return ObjectField(key: key, quoted: quoted, position: token.position, value: try expression())
    }

    /// Comma-separated elements up to `closing`, allowing a trailing comma and requiring one
    /// before a newline that precedes the closing bracket.
    private mutating func elements<Element>(
        closedBy closing: Token.Kind, what: String,
        _ element: (inout Parser) throws(Diagnostic) -> Element
    ) throws(Diagnostic) -> [Element] {
        var items: [Element] = []
        while current.kind != closing {
            items.append(try element(&self))
            if current.kind == .comma {
                _ = advance()
                continue
            }
            if current.kind == closing {
                if current.followsNewline {
                    throw error("missing \",\" before newline in \(what)", at: tokens[index - 1].end)
                }
                break
            }
            throw error("expected \",\" or \(closing) in \(what), found \(current.kind)")
        }
        _ = advance()
        return items
    }
}
