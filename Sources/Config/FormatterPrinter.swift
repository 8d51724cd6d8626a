/// Alloy's printer (`syntax/printer/printer.go`): collects tokens and whitespace directions
/// from the walk over the tree, places comments between them by source position, and writes
/// text for ``FormatterTabWriter``: `\t` for indentation and before a trailing comment, `\v`
/// before `=`, `\n` within a run of aligned lines, `\f` to end a run.
struct FormatterPrinter {
    /// A direction about whitespace before the next token; held until a token follows, so
    /// none is written at the end of the file.
    enum Whitespace: Equatable {
        case ignore, blank, verticalTab, newline, formfeed, indent, unindent

        var byte: UInt8? {
            switch self {
            case .blank: UInt8(ascii: " ")
            case .verticalTab: 0x0B
            case .newline: UInt8(ascii: "\n")
            case .formfeed: 0x0C
            case .ignore, .indent, .unindent: nil
            }
        }
    }

    /// What the walk sends to the printer.
    enum Item {
        case space(Whitespace)
        /// The source position of the next token: keeps the printer's idea of where it is in
        /// the source accurate, which decides where comments go.
        case at(FormatterPosition)
        /// An identifier, a keyword literal or a number, as written.
        case word(String, isNumber: Bool)
        /// A string literal, written as it is: the tab writer does not look inside.
        case string(String)
        /// Punctuation or an operator.
        case token(String)
    }

    /// The tab writer's escape byte: text between two of them is passed through as it is.
    static let escape: UInt8 = 0xFF
    /// At most this many newlines in a row (one blank line).
    private static let maximumNewlines = 2

    private enum LastToken { case whitespace, number, slash, other }

    private(set) var output: [UInt8] = []
    private var indent = 0
    private var lastToken = LastToken.whitespace
    private var whitespace: [Whitespace] = []

    private var commentGroups: [[FormatterSyntax.Comment]]
    private var nextGroup = 0
    /// The offset of the first comment not yet written.
    private var commentOffset: Int?

    /// An estimate of the position in the source, corrected by every `.at`.
    private var position = FormatterPosition(offset: 0, line: 1, column: 1)
    /// The source position just past the last text written.
    private var last = FormatterPosition.unknown
    /// The line and column in the output.
    private var outputLine = 1
    private var outputColumn = 1
    /// The output lines where the nodes being measured start; nil until their first token.
    private var spanStarts: [Int?] = []

    init(comments: [[FormatterSyntax.Comment]]) {
        commentGroups = comments
        advanceComments()
    }

    private mutating func advanceComments() {
        while nextGroup < commentGroups.count {
            let group = commentGroups[nextGroup]
            if let first = group.first {
                commentOffset = first.start.offset
                return
            }
            nextGroup += 1
        }
        commentOffset = nil
    }

    private func commentBefore(_ next: FormatterPosition) -> Bool {
        guard let commentOffset else { return false }
        return commentOffset <= next.offset
    }

    mutating func write(_ items: Item...) {
        for item in items {
            let text: String
            var escaped = false
            switch item {
            case .space(let space):
                if space == .ignore { continue }
                whitespace.append(space)
                lastToken = .whitespace
                continue
            case .at(let at):
                if at.isValid { position = at }
                continue
            case .word(let word, let isNumber):
                text = word
                lastToken = isNumber ? .number : .other
            case .string(let string):
                text = string
                escaped = true
                lastToken = .other
            case .token(let token):
                text = token
                // Keep apart what would scan as one token: `1 .` (a number) and `/ *` (a comment).
                let first = token.utf8.first
                if (lastToken == .number && first == UInt8(ascii: "."))
                    || (lastToken == .slash && first == UInt8(ascii: "*"))
                {
                    whitespace = [.blank]
                }
                lastToken = token == "/" ? .slash : .other
            }
            let next = position
            flush(before: next, endOfFile: false)
            // The token starts every node measured that has none yet.
            var index = spanStarts.count - 1
            while index >= 0, spanStarts[index] == nil {
                spanStarts[index] = outputLine
                index -= 1
            }
            writeString(text, at: next, escaped: escaped)
        }
    }

    /// Starts measuring the node whose first token comes next.
    mutating func beginSpan() {
        spanStarts.append(nil)
    }

    /// How many output lines the node measured since the matching ``beginSpan()`` spans.
    ///
    /// Alloy counts the node's lines in the source; counting them in the output instead
    /// (where line breaks inside an expression are gone) makes formatting idempotent.
    mutating func endSpan() -> Int {
        let start = spanStarts.popLast().flatMap { $0 } ?? outputLine
        return outputLine - start + 1
    }

    /// Writes the comments left at the end of the file; pending whitespace is dropped.
    mutating func finish() {
        flush(before: FormatterPosition(offset: .max, line: .max, column: .max), endOfFile: true)
    }

    /// Writes the comments that come before `next` in the source, or else the pending whitespace.
    private mutating func flush(before next: FormatterPosition, endOfFile: Bool) {
        if commentBefore(next) {
            injectComments(before: next, endOfFile: endOfFile)
        } else if !endOfFile {
            writeWhitespace(whitespace.count)
        }
    }

    private mutating func injectComments(before next: FormatterPosition, endOfFile: Bool) {
        var lastComment: FormatterSyntax.Comment?
        while commentBefore(next) {
            for comment in commentGroups[nextGroup] {
                writeCommentPrefix(comment, next: next)
                writeString(comment.text, at: comment.start, escaped: true)
                lastComment = comment
            }
            nextGroup += 1
            advanceComments()
        }
        if let lastComment, !endOfFile {
            writeCommentSuffix(after: lastComment, next: next)
        }
    }

    /// The whitespace before a comment: a separator after a token on its line, or its own line.
    private mutating func writeCommentPrefix(_ comment: FormatterSyntax.Comment, next: FormatterPosition) {
        if output.isEmpty { return }
        if comment.start.line == last.line {
            // A tab aligns trailing comments; a block comment followed by more on its line gets a space.
            writeByte(comment.start.line == next.line ? UInt8(ascii: " ") : UInt8(ascii: "\t"), count: 1)
            return
        }
        // Apply pending indentation up to the first other direction, which the comment's own
        // newlines replace.
        var count = 0
        for (index, space) in whitespace.enumerated() {
            switch space {
            case .indent, .unindent: continue
            case .blank, .verticalTab, .newline, .formfeed: whitespace[index] = .ignore
            case .ignore: break
            }
            count = index
            break
        }
        writeWhitespace(count)
        let newlines = last.isValid ? comment.start.line - last.line : 0
        if newlines > 0 {
            writeByte(0x0C, count: min(newlines, Self.maximumNewlines))
        }
    }

    /// The whitespace between the last comment written and the token at `next`.
    private mutating func writeCommentSuffix(after comment: FormatterSyntax.Comment, next: FormatterPosition) {
        if comment.isBlock, next.line == comment.endLine {
            writeByte(UInt8(ascii: " "), count: 1)
        }
        var newlines = next.line - last.line
        // Alloy can estimate the next token onto the line comment's own line (a `,` or `)`
        // written without a position); it must not end up inside the comment.
        if !comment.isBlock, newlines < 1 { newlines = 1 }
        var droppedFormfeed = false
        for (index, space) in whitespace.enumerated() {
            switch space {
            case .blank, .verticalTab: whitespace[index] = .ignore
            case .indent, .unindent, .ignore: continue
            case .newline, .formfeed:
                if space == .formfeed { droppedFormfeed = true }
                whitespace[index] = .ignore
            }
        }
        writeWhitespace(whitespace.count)
        if newlines > 0 {
            writeByte(droppedFormfeed ? 0x0C : UInt8(ascii: "\n"), count: min(newlines, Self.maximumNewlines))
        }
    }

    private mutating func writeString(_ text: String, at start: FormatterPosition, escaped: Bool) {
        if outputColumn == 1 { writeIndent() }
        if start.isValid { position = start }
        if escaped { output.append(Self.escape) }
        output.append(contentsOf: text.utf8)
        if escaped { output.append(Self.escape) }

        let bytes = Array(text.utf8)
        var newlines = 0
        var lastNewline = 0
        // Only `\n` ends a line of the source or of the output: a formfeed in a comment or a
        // string is passed through as it is (Alloy counts it, and misplaces what follows).
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            newlines += 1
            lastNewline = index
        }
        position.offset += bytes.count
        if newlines > 0 {
            position.line += newlines
            outputLine += newlines
            position.column = bytes.count - lastNewline
            outputColumn = bytes.count - lastNewline
        } else {
            position.column += bytes.count
            outputColumn += bytes.count
        }
        last = position
    }

    private mutating func writeIndent() {
        output.append(contentsOf: repeatElement(UInt8(ascii: "\t"), count: indent))
        position.offset += indent
        position.column += indent
        outputColumn += indent
    }

    /// Writes whitespace `byte` `count` times.
    private mutating func writeByte(_ byte: UInt8, count: Int) {
        if outputColumn == 1 { writeIndent() }
        output.append(contentsOf: repeatElement(byte, count: count))
        position.offset += count
        if byte == UInt8(ascii: "\n") || byte == 0x0C {
            position.line += count
            outputLine += count
            position.column = 1
            outputColumn = 1
        } else {
            position.column += count
            outputColumn += count
        }
    }

    /// Carries out the first `count` pending whitespace directions.
    private mutating func writeWhitespace(_ count: Int) {
        for space in whitespace.prefix(count) {
            switch space {
            case .ignore: break
            case .indent: indent += 1
            case .unindent: indent = max(0, indent - 1)
            default: if let byte = space.byte { writeByte(byte, count: 1) }
            }
        }
        whitespace.removeFirst(min(count, whitespace.count))
    }
}
