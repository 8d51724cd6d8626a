/// The elastic tabstops that align Alloy's formatted text: Go's `text/tabwriter` as Alloy's
/// printer configures it (minimum width 0, tab width 8, padding 1, padded with spaces, empty
/// soft columns discarded, indentation with tabs), followed by Alloy's trimmer, which drops
/// trailing whitespace and the escape bytes.
///
/// Input is cells ended by `\t` (hard) or `\v` (soft) and lines ended by `\n` or `\f`; cells
/// ended by a tab in consecutive lines form a column padded to its widest cell; `\f` also ends
/// every column. Text between two ``FormatterPrinter/escape`` bytes is one piece of a cell.
struct FormatterTabWriter {
    private struct Cell {
        /// Bytes in ``FormatterTabWriter/buffer``.
        var size = 0
        /// Width in characters.
        var width = 0
        /// Ended by `\t` rather than `\v`.
        var horizontalTab = false
    }

    private static let tabWidth = 8
    private static let padding = 1

    /// The text of the cells not written yet, without tabs and line breaks.
    private var buffer: [UInt8] = []
    /// How much of `buffer` the current cell's width counts.
    private var counted = 0
    private var cell = Cell()
    private var inEscape = false
    private var lines: [[Cell]] = [[]]
    /// The widths of the columns being formatted.
    private var widths: [Int] = []
    private var output: [UInt8] = []

    /// Aligns `text` and trims it.
    static func align(_ text: [UInt8]) -> [UInt8] {
        var writer = FormatterTabWriter()
        writer.write(text)
        writer.flush()
        return trim(writer.output)
    }

    private mutating func write(_ bytes: [UInt8]) {
        var start = 0
        for (index, byte) in bytes.enumerated() {
            if inEscape {
                if byte == FormatterPrinter.escape {
                    append(bytes[start...index])
                    start = index + 1
                    endEscape()
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\t"), 0x0B, UInt8(ascii: "\n"), 0x0C:
                append(bytes[start..<index])
                updateWidth()
                start = index + 1
                let cells = terminateCell(horizontalTab: byte == UInt8(ascii: "\t"))
                if byte == UInt8(ascii: "\n") || byte == 0x0C {
                    lines.append([])
                    // A formfeed ends all columns; a line of one cell cannot affect the next lines.
                    if byte == 0x0C || cells == 1 { flush() }
                }
            case FormatterPrinter.escape:
                append(bytes[start..<index])
                updateWidth()
                start = index
                inEscape = true
            default:
                break
            }
        }
        append(bytes[start...])
    }

    private mutating func append(_ text: ArraySlice<UInt8>) {
        buffer.append(contentsOf: text)
        cell.size += text.count
    }

    private mutating func updateWidth() {
        cell.width += Self.characterCount(buffer[counted...])
        counted = buffer.count
    }

    /// Characters in UTF-8 text (each escape byte counts as one, as Go's `utf8.RuneCount` does).
    private static func characterCount(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    private mutating func endEscape() {
        updateWidth()
        cell.width -= 2  // The two escape bytes take no room.
        counted = buffer.count
        inEscape = false
    }

    private mutating func terminateCell(horizontalTab: Bool) -> Int {
        cell.horizontalTab = horizontalTab
        lines[lines.count - 1].append(cell)
        cell = Cell()
        return lines[lines.count - 1].count
    }

    private mutating func flush() {
        if cell.size > 0 {
            if inEscape { endEscape() }
            _ = terminateCell(horizontalTab: false)
        }
        _ = format(from: 0, lines: 0..<lines.count)
        buffer = []
        counted = 0
        cell = Cell()
        inEscape = false
        lines = [[]]
        widths = []
    }

    /// Formats `lines`, whose text starts at `start` in the buffer; returns where the next
    /// line's text starts.
    private mutating func format(from start: Int, lines range: Range<Int>) -> Int {
        var position = start
        var firstUnwritten = range.lowerBound
        let column = widths.count
        var line = range.lowerBound
        while line < range.upperBound {
            // The last cell of a line is not in a column: it has no tab after it.
            if column < lines[line].count - 1 {
                position = writeLines(from: position, lines: firstUnwritten..<line)
                firstUnwritten = line
                var width = 0
                var discardable = true
                while line < range.upperBound, column < lines[line].count - 1 {
                    let cell = lines[line][column]
                    width = max(width, cell.width + Self.padding)
                    if cell.width > 0 || cell.horizontalTab { discardable = false }
                    line += 1
                }
                if discardable { width = 0 }
                widths.append(width)
                position = format(from: position, lines: firstUnwritten..<line)
                widths.removeLast()
                firstUnwritten = line
            }
            line += 1
        }
        return writeLines(from: position, lines: firstUnwritten..<range.upperBound)
    }

    private mutating func writeLines(from start: Int, lines range: Range<Int>) -> Int {
        var position = start
        for line in range {
            var indenting = true
            for (column, cell) in lines[line].enumerated() {
                if cell.size > 0 {
                    indenting = false
                    output.append(contentsOf: buffer[position..<position + cell.size])
                    position += cell.size
                }
                if column < widths.count {
                    pad(from: cell.width, to: widths[column], withTabs: indenting && cell.size == 0)
                }
            }
            if line + 1 == lines.count {
                // The last line has no line break yet: write what the current cell holds.
                output.append(contentsOf: buffer[position..<position + cell.size])
                position += cell.size
            } else {
                output.append(UInt8(ascii: "\n"))
            }
        }
        return position
    }

    private mutating func pad(from textWidth: Int, to cellWidth: Int, withTabs: Bool) {
        if withTabs {
            let rounded = (cellWidth + Self.tabWidth - 1) / Self.tabWidth * Self.tabWidth
            let tabs = (max(0, rounded - textWidth) + Self.tabWidth - 1) / Self.tabWidth
            output.append(contentsOf: repeatElement(UInt8(ascii: "\t"), count: tabs))
        } else {
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(0, cellWidth - textWidth)))
        }
    }

    /// Alloy's trimmer: drops spaces and tabs before line breaks and at the end, turns `\f`
    /// into `\n`, and removes the escape bytes, passing escaped text through as it is.
    private static func trim(_ data: [UInt8]) -> [UInt8] {
        enum State { case space, text, escape }
        var result: [UInt8] = []
        result.reserveCapacity(data.count)
        var space: [UInt8] = []
        var state = State.space
        var textStart = 0
        for (offset, raw) in data.enumerated() {
            let byte = raw == 0x0B ? UInt8(ascii: "\t") : raw
            switch state {
            case .space:
                switch byte {
                case UInt8(ascii: "\t"), UInt8(ascii: " "):
                    space.append(byte)
                case UInt8(ascii: "\n"), 0x0C:
                    space = []
                    result.append(UInt8(ascii: "\n"))
                case FormatterPrinter.escape:
                    result.append(contentsOf: space)
                    state = .escape
                    textStart = offset + 1
                default:
                    result.append(contentsOf: space)
                    state = .text
                    textStart = offset
                }
            case .text:
                switch byte {
                case UInt8(ascii: "\t"), UInt8(ascii: " "):
                    result.append(contentsOf: data[textStart..<offset])
                    space = [byte]
                    state = .space
                case UInt8(ascii: "\n"), 0x0C:
                    result.append(contentsOf: data[textStart..<offset])
                    space = []
                    state = .space
                    result.append(UInt8(ascii: "\n"))
                case FormatterPrinter.escape:
                    result.append(contentsOf: data[textStart..<offset])
                    state = .escape
                    textStart = offset + 1
                default:
                    break
                }
            case .escape:
                if byte == FormatterPrinter.escape {
                    result.append(contentsOf: data[textStart..<offset])
                    space = []
                    state = .space
                }
            }
        }
        if state != .space {
            result.append(contentsOf: data[textStart...])
        }
        return result
    }
}
