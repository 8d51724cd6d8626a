#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Byte-level helpers shared by the exposition parsers.
enum ExpositionBytes {
    static let newline: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let comma: UInt8 = 0x2C
    static let equals: UInt8 = 0x3D
    static let backslash: UInt8 = 0x5C
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D

    @inline(__always)
    static func isBlank(_ c: UInt8) -> Bool { c == space || c == tab }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    /// `[a-zA-Z_]`
    @inline(__always)
    static func isLabelNameStart(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 || c == 0x5F }

    /// `[a-zA-Z0-9_]`
    @inline(__always)
    static func isLabelNameCharacter(_ c: UInt8) -> Bool { isLabelNameStart(c) || isDigit(c) }

    /// `[a-zA-Z_:]`
    @inline(__always)
    static func isMetricNameStart(_ c: UInt8) -> Bool { isLabelNameStart(c) || c == 0x3A }

    /// `[a-zA-Z0-9_:]`
    @inline(__always)
    static func isMetricNameCharacter(_ c: UInt8) -> Bool { isLabelNameCharacter(c) || c == 0x3A }

    /// Offset of the first `byte` in `start[0..<count]`, or `count`.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in start: UnsafePointer<UInt8>, count: Int) -> Int {
        guard count > 0, let found = memchr(start, Int32(byte), count) else { return count }
        return UnsafeRawPointer(found) - UnsafeRawPointer(start)
    }

    /// Offset of the first `"` or `\\` at or after `start`, or `count`; eight bytes at a time.
    /// ORs the bytes it reads into `seen` (and perhaps a few after the match): `seen & 0x80 == 0`
    /// means they were all ASCII.
    @inline(__always)
    static func firstQuoteOrBackslash(
        in p: UnsafePointer<UInt8>, from start: Int, count n: Int, seen: inout UInt64
    ) -> Int {
        firstOf(quote, backslash, in: p, from: start, count: n, seen: &seen)
    }

    /// Offset of the first `a` or `b` at or after `start`, or `count`; eight bytes at a time,
    /// ORing the bytes read into `seen`.
    @inline(__always)
    static func firstOf(
        _ a: UInt8, _ b: UInt8, in p: UnsafePointer<UInt8>, from start: Int, count n: Int, seen: inout UInt64
    ) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while i + 8 <= n {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            seen |= word
            let matchA = word ^ (ones &* UInt64(a))
            let matchB = word ^ (ones &* UInt64(b))
            // A zero byte in either marks a match; the lowest flagged byte is always a true one.
            let found = (((matchA &- ones) & ~matchA) | ((matchB &- ones) & ~matchB)) & highs
            if found != 0 { return i + found.littleEndian.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n, p[i] != a, p[i] != b {
            seen |= UInt64(p[i])
            i += 1
        }
        return i
    }

    /// The offset just past the `}` that closes the label set opening at `brace`, found by
    /// skipping quoted values (with their escapes) and nothing else; nil when the line ends first.
    /// It checks nothing: for a valid label set it is where the parser's checks end it.
    static func labelSetEnd(in p: UnsafePointer<UInt8>, from brace: Int, count n: Int) -> Int? {
        var i = brace + 1
        var seen: UInt64 = 0
        while true {
            i = firstOf(closeBrace, quote, in: p, from: i, count: n, seen: &seen)
            guard i < n else { return nil }
            if p[i] == closeBrace { return i + 1 }
            // A quoted value: on to its closing quote, past escaped bytes.
            i += 1
            while true {
                i = firstQuoteOrBackslash(in: p, from: i, count: n, seen: &seen)
                guard i < n else { return nil }
                if p[i] == quote { break }
                i += 2
            }
            i += 1
        }
    }

    /// Whether any byte ORed into `seen` (by ``firstQuoteOrBackslash(in:from:count:seen:)``) was not ASCII.
    @inline(__always)
    static func hasNonASCII(_ seen: UInt64) -> Bool { seen & 0x8080_8080_8080_8080 != 0 }

    /// Offset of the first byte in `p[start..<end]` that does not start a valid UTF-8 sequence
    /// (or starts one that is cut short, overlong, a surrogate or above U+10FFFF), or `nil` when
    /// the bytes are valid UTF-8, as Go's `utf8.Valid` decides. ASCII is skipped 32 bytes at a time.
    static func firstInvalidUTF8(in p: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int? {
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while i < end {
            while i + 32 <= end {
                let raw = UnsafeRawPointer(p + i)
                let words =
                    raw.loadUnaligned(as: UInt64.self) | raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                guard words & highs == 0 else { break }
                i += 32
            }
            while i + 8 <= end, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & highs == 0 { i += 8 }
            guard i < end else { return nil }
            let lead = p[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            var length = 0
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: (length, lower) = (3, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: (length, upper) = (3, 0x9F)
            case 0xF0: (length, lower) = (4, 0x90)
            case 0xF1...0xF3: length = 4
            case 0xF4: (length, upper) = (4, 0x8F)
            default: return i
            }
            guard i + length <= end, p[i + 1] >= lower, p[i + 1] <= upper else { return i }
            if length > 2 && p[i + 2] & 0xC0 != 0x80 { return i }
            if length > 3 && p[i + 3] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// Whether `a` starts with `prefix`.
    @inline(__always)
    static func hasPrefix(_ a: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
        a.count >= prefix.count
            && (prefix.count == 0 || memcmp(a.baseAddress!, prefix.baseAddress!, prefix.count) == 0)
    }

    /// Whether `a` equals the ASCII literal `word`.
    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        equal(a, UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    /// Converts a validated decimal float literal with C's `strtod`.
    static func convertDecimal(_ start: UnsafePointer<UInt8>, count: Int) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            raw.copyMemory(from: start, byteCount: count)
            buffer[count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Text for error messages: the bytes, lossily decoded, shortened when long.
    static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        let shown = bytes.count > 64 ? UnsafeRawBufferPointer(rebasing: bytes[..<64]) : bytes
        let text = String(decoding: shown, as: UTF8.self)
        return "\"" + text + (bytes.count > 64 ? "…" : "") + "\""
    }
}
