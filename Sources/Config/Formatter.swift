import Primitives

/// `agentd fmt`: Alloy's formatting of a configuration file (`alloy fmt`, Alloy's
/// `syntax/printer`), as a pure function of the text.
///
/// Tabs indent; `=` aligns across a run of one-line attributes (or object fields), and so do
/// trailing comments; a blank line, a comment line, a block or a statement spanning lines ends
/// the run. One blank line separates blocks; blank lines between attributes collapse to one.
/// Lists, objects and calls break lines where the source did, with a trailing comma when the
/// closing bracket is on its own line. Comments stay where they are. An empty block is `name { }`.
///
/// Where Alloy's printer would change what the file means, or format its own output differently,
/// this one does not (`docs/fmt.md`): strings are written as in the source, a comment always
/// precedes the token that follows it in the source, and whether a statement spans lines is
/// judged in the output.
public enum AlloyFormatter {
    /// The formatted text of `source`, ending in a newline; or the parser's diagnostic naming
    /// `filename`, line and column.
    public static func format(_ source: String, filename: String) throws(Diagnostic) -> String {
        let (body, comments) = try FormatterSyntaxBuilder.build(source: source, filename: filename)
        var walker = Walker(printer: FormatterPrinter(comments: comments))
        walker.statements(body)
        walker.printer.finish()
        return String(decoding: FormatterTabWriter.align(walker.printer.output) + [UInt8(ascii: "\n")], as: UTF8.self)
    }

    /// Alloy's walker (`syntax/printer/walker.go`): sends each node's tokens, with the
    /// whitespace that lays it out, to the printer.
    private struct Walker {
        var printer: FormatterPrinter

        mutating func statements(_ statements: [FormatterSyntax.Statement]) {
            for (index, statement) in statements.enumerated() {
                if index > 0 {
                    if case .block = statement {
                        // Blocks are always separated by a blank line.
                        printer.write(.space(.formfeed))
                    } else if statement.startLine - statements[index - 1].endLine > 1 {
                        // A blank line in the source is kept.
                        printer.write(.space(.formfeed))
                    }
                }
                printer.beginSpan()
                switch statement {
                case .attribute(let name, let at, let assign, let value):
                    printer.write(
                        .at(at), .word(name, isNumber: false), .space(.verticalTab), .at(assign), .token("="),
                        .space(.blank))
                    expression(value)
                case .block(let block):
                    self.block(block)
                }
                // A statement spanning lines ends the run of aligned lines.
                printer.write(.space(printer.endSpan() > 1 ? .formfeed : .newline))
            }
        }

        private mutating func block(_ block: FormatterSyntax.Block) {
            printer.write(.at(block.name), .word(block.nameText, isNumber: false))
            if let label = block.label {
                printer.write(.space(.blank), .at(label.at), .string(AlloyFormatter.quoted(label.text)))
            }
            printer.write(.space(.blank), .at(block.leftBrace), .token("{"), .space(.indent))
            if block.body.isEmpty {
                printer.write(.space(.blank))
            } else {
                printer.write(.space(.formfeed))
                statements(block.body)
            }
            printer.write(.space(.unindent), .at(block.rightBrace), .token("}"))
        }

        private mutating func expression(_ expression: FormatterSyntax.Expression) {
            switch expression {
            case .string(let text, let at, _):
                printer.write(.at(at), .string(text))
            case .word(let text, let isNumber, let at):
                printer.write(.at(at), .word(text, isNumber: isNumber))
            case .array(let elements, let left, let right):
                array(elements, left: left, right: right)
            case .object(let fields, let left, let right):
                object(fields, left: left, right: right)
            case .access(let base, let dot, let name, let nameAt):
                self.expression(base)
                printer.write(.at(dot), .token("."), .at(nameAt), .word(name, isNumber: false))
            case .index(let base, let index, let left, let right):
                self.expression(base)
                printer.write(.at(left), .token("["))
                self.expression(index)
                printer.write(.at(right), .token("]"))
            case .call(let function, let arguments, let left, let right):
                call(function, arguments, left: left, right: right)
            case .unary(let symbol, let at, let operand):
                printer.write(.at(at), .token(symbol))
                self.expression(operand)
            case .binary(let first, let rest):
                self.expression(first)
                for operation in rest {
                    printer.write(.space(.blank), .at(operation.at), .token(operation.symbol), .space(.blank))
                    self.expression(operation.operand)
                }
            case .parenthesized(let inner, let left, let right):
                printer.write(.at(left), .token("("))
                self.expression(inner)
                printer.write(.at(right), .token(")"))
            }
        }

        /// A comma: where the source has it, or a trailing one the layout adds.
        private mutating func comma(at position: FormatterPosition?) {
            if let position { printer.write(.at(position)) }
            printer.write(.token(","))
        }

        private mutating func array(
            _ elements: [FormatterSyntax.Element], left: FormatterPosition, right: FormatterPosition
        ) {
            printer.write(.at(left), .token("["))
            var previousLine = left.line
            for (index, element) in elements.enumerated() {
                // An element on a new line in the source goes on a new, indented line.
                let newLine = element.value.startLine != previousLine
                if newLine {
                    printer.write(.space(.indent), .space(.formfeed))
                } else if index > 0 {
                    printer.write(.space(.blank))
                }
                previousLine = element.value.endLine
                expression(element.value)
                if index + 1 < elements.count { comma(at: element.comma) }
                if newLine { printer.write(.space(.unindent)) }
            }
            if let last = elements.last, previousLine != right.line {
                comma(at: last.comma)
                printer.write(.space(.indent), .space(.formfeed), .space(.unindent))
            }
            printer.write(.at(right), .token("]"))
        }

        private mutating func object(
            _ fields: [FormatterSyntax.Field], left: FormatterPosition, right: FormatterPosition
        ) {
            printer.write(.at(left), .token("{"), .space(.indent))
            var previousLine = left.line
            var previousValueLines = 0
            for (index, field) in fields.enumerated() {
                if field.keyStart.line != previousLine {
                    // Fields align unless the previous one spanned lines.
                    let aligned = index > 0 && previousValueLines == 1
                    printer.write(.space(aligned ? .newline : .formfeed))
                } else if index > 0 {
                    printer.write(.space(.blank))
                }
                previousLine = field.keyEndLine
                printer.write(.at(field.keyStart))
                printer.write(
                    field.quoted ? .string(AlloyFormatter.quoted(field.key)) : .word(field.key, isNumber: false))
                printer.write(.space(.verticalTab), .at(field.assign), .token("="), .space(.blank))
                printer.beginSpan()
                expression(field.value)
                previousValueLines = printer.endSpan()
                if index + 1 < fields.count { comma(at: field.comma) }
            }
            if let last = fields.last, previousLine != right.line {
                comma(at: last.comma)
                printer.write(.space(.formfeed))
            }
            printer.write(.space(.unindent), .at(right), .token("}"))
        }

        private mutating func call(
            _ function: FormatterSyntax.Expression, _ arguments: [FormatterSyntax.Element],
            left: FormatterPosition, right: FormatterPosition
        ) {
            expression(function)
            printer.write(.at(left), .token("("))
            var previousLine = left.line
            for (index, argument) in arguments.enumerated() {
                let newLine = argument.value.startLine != previousLine
                if newLine { printer.write(.space(.formfeed), .space(.indent)) }
                expression(argument.value)
                previousLine = argument.value.endLine
                if index + 1 < arguments.count {
                    comma(at: argument.comma)
                    printer.write(.space(.blank))
                }
                if newLine { printer.write(.space(.unindent)) }
            }
            if let last = arguments.last, previousLine != right.line {
                comma(at: last.comma)
                printer.write(.space(.formfeed))
            }
            printer.write(.at(right), .token(")"))
        }
    }

    /// `text` as a double-quoted string the way Go's `%q` writes it: printable characters as
    /// they are, `"` and `\` escaped, control characters as `\n`, `\t`, … or `\xHH`, other
    /// unprintable ones as `\uHHHH` or `\UHHHHHHHH`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{0B}": result += "\\v"
            default:
                if isPrintable(scalar) {
                    result.unicodeScalars.append(scalar)
                } else if scalar.value < 0x80 {
                    result += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value < 0x10000 {
                    result += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    result += "\\U" + hex(scalar.value, digits: 8)
                }
            }
        }
        return result + "\""
    }

    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate, .privateUse,
            .unassigned:
            return false
        default:
            return true
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        String(value, radix: 16, zeroPaddedTo: digits)
    }
}
