/// Number literals of the exposition formats.
enum ExpositionNumber {
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses a float: `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?` or a case-insensitive
    /// `NaN`, `Inf` or `Infinity` with an optional sign. `nil` if the bytes are not exactly one.
    ///
    /// Exact with Clinger's fast path when the significand and the power of ten are both exactly
    /// representable; otherwise by Eisel–Lemire (`eiselLemire`), and with `strtod` where that
    /// cannot decide: a correctly-rounded conversion on every path.
    static func parseFloat(_ p: UnsafePointer<UInt8>, count n: Int) -> Double? {
        var i = 0
        var negative = false
        if i < n && (p[i] == 0x2B || p[i] == 0x2D) {
            negative = p[i] == 0x2D
            i += 1
        }
        guard i < n else { return nil }
        guard ExpositionBytes.isDigit(p[i]) || p[i] == 0x2E else {
            return parseSpecial(UnsafeRawBufferPointer(start: p + i, count: n - i), negative: negative)
        }
        // Every digit goes into the significand in one pass (a leading zero adds nothing to it);
        // only a literal of more than 19 digits is read again, by `truncatedSignificand`.
        let integerStart = i
        var mantissa: UInt64 = 0
        while i < n, ExpositionBytes.isDigit(p[i]) {
            mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30)
            i += 1
        }
        let integerEnd = i
        var fractionStart = i
        if i < n && p[i] == 0x2E {
            i += 1
            fractionStart = i
            while i < n, ExpositionBytes.isDigit(p[i]) {
                mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30)
                i += 1
            }
        }
        var exponent = fractionStart - i  // minus the count of digits after the point
        let digits = integerEnd - integerStart - exponent
        var inexact = false
        if digits > 19 {
            (mantissa, exponent, inexact) = Self.truncatedSignificand(
                p, integer: integerStart..<integerEnd, fraction: fractionStart..<i)
        }
        guard digits > 0 else { return nil }
        if i < n && (p[i] | 0x20) == 0x65 {
            i += 1
            var negativeExponent = false
            if i < n && (p[i] == 0x2B || p[i] == 0x2D) {
                negativeExponent = p[i] == 0x2D
                i += 1
            }
            let exponentStart = i
            var written = 0
            while i < n, ExpositionBytes.isDigit(p[i]) {
                if written < 100_000 { written = written * 10 + Int(p[i] &- 0x30) }
                i += 1
            }
            guard i > exponentStart else { return nil }
            exponent += negativeExponent ? -written : written
        }
        guard i == n else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if !inexact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 {
                value /= powersOfTen[-exponent]
            } else {
                value *= powersOfTen[exponent]
            }
            return negative ? -value : value
        }
        if !inexact {
            if let value = eiselLemire(mantissa, exponent, negative: negative) { return value }
        } else if let value = eiselLemire(mantissa, exponent, negative: negative),
            eiselLemire(mantissa + 1, exponent, negative: negative) == value
        {
            // More than 19 significant digits: the value lies between mantissa and mantissa + 1
            // times 10^exponent, so where both round to one double, that is the answer.
            return value
        }
        return ExpositionBytes.convertDecimal(p, count: n)
    }

    /// The first 19 significant digits of a literal whose `integer` and `fraction` digits are
    /// more than 19, as a significand and the power of ten that scales it (before any written
    /// exponent), and whether significant digits were left out. 19 digits always fit in 64 bits.
    private static func truncatedSignificand(
        _ p: UnsafePointer<UInt8>, integer: Range<Int>, fraction: Range<Int>
    ) -> (significand: UInt64, exponent: Int, inexact: Bool) {
        var significand: UInt64 = 0
        var taken = 0
        // Digits read up to the last one taken, leading zeros included: the last one taken
        // stands for 10^(integer.count - read).
        var read = 0
        digits: for range in [integer, fraction] {
            for index in range {
                let digit = UInt64(p[index] &- 0x30)
                if significand != 0 || digit != 0 {
                    guard taken < 19 else { break digits }
                    significand = significand &* 10 &+ digit
                    taken += 1
                }
                read += 1
            }
        }
        return (significand, integer.count - read, read < integer.count + fraction.count)
    }

    /// `w` × 10^`q`, correctly rounded, by the Eisel–Lemire algorithm (Lemire, "Number Parsing at
    /// a Gigabyte per Second", 2021): `w`, normalized to 64 bits, times the 128 most significant
    /// bits of 5^`q` gives the 54 leading bits of the result and enough bits below them to see
    /// which way it rounds, except in the rare products it cannot decide (a halfway case, or
    /// bits too close to one to tell), where it returns `nil` for `strtod` to convert. `nil` too
    /// for a subnormal, infinite or zero result. `w` is not zero.
    static func eiselLemire(_ w: UInt64, _ q: Int, negative: Bool) -> Double? {
        guard q >= smallestPowerOfFive && q <= largestPowerOfFive else { return nil }
        let leadingZeros = w.leadingZeroBitCount
        let normalized = w << leadingZeros
        let index = 2 * (q - smallestPowerOfFive)
        var (upper, lower) = normalized.multipliedFullWidth(by: powersOfFive[index])
        if upper & 0x1FF == 0x1FF && lower &+ normalized < lower {
            // The low 9 bits are all ones and the truncated part of 5^q could carry into them:
            // take the next 64 bits of 5^q into the product.
            let (middle, low) = normalized.multipliedFullWidth(by: powersOfFive[index + 1])
            let sum = lower &+ middle
            if sum < lower { upper &+= 1 }
            if sum &+ 1 == 0 && upper & 0x1FF == 0x1FF && low &+ normalized < low { return nil }
            lower = sum
        }
        let upperBit = upper >> 63
        var significand = upper >> (upperBit + 9)
        var shift = leadingZeros + Int(1 ^ upperBit)
        if lower == 0 && upper & 0x1FF == 0 && significand & 3 == 1 { return nil }
        significand += significand & 1
        significand >>= 1
        if significand >= 1 << 53 {
            significand = 1 << 52
            shift -= 1
        }
        significand &= ~(1 << 52)
        // floor(q × log2(10)) + 64 + 1023: the biased exponent before the normalization shift.
        let biasedExponent = ((217_706 * q) >> 16) + 1087 - shift
        guard biasedExponent >= 1 && biasedExponent <= 2046 else { return nil }
        return Double(bitPattern: significand | UInt64(biasedExponent) << 52 | (negative ? 1 << 63 : 0))
    }

    private static func parseSpecial(_ word: UnsafeRawBufferPointer, negative: Bool) -> Double? {
        func isWord(_ literal: StaticString) -> Bool {
            guard word.count == literal.utf8CodeUnitCount else { return false }
            for index in 0..<word.count where word[index] | 0x20 != literal.utf8Start[index] {
                return false
            }
            return true
        }
        if isWord("inf") || isWord("infinity") { return negative ? -.infinity : .infinity }
        if isWord("nan") { return .nan }
        return nil
    }

    /// Parses a text-format timestamp: an integer number of milliseconds, optionally signed.
    static func parseMilliseconds(_ p: UnsafePointer<UInt8>, count n: Int) -> Int64? {
        var i = 0
        var negative = false
        if i < n && (p[i] == 0x2B || p[i] == 0x2D) {
            negative = p[i] == 0x2D
            i += 1
        }
        guard i < n else { return nil }
        var magnitude: Int64 = 0
        while i < n {
            guard ExpositionBytes.isDigit(p[i]) else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(p[i] &- 0x30))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            i += 1
        }
        return negative ? -magnitude : magnitude
    }

    /// Parses an OpenMetrics timestamp: seconds since the epoch, with an optional fraction or
    /// exponent; not NaN nor infinite. Digits beyond nanoseconds are truncated.
    static func parseSeconds(_ p: UnsafePointer<UInt8>, count n: Int) -> ExpositionTimestamp? {
        var i = 0
        var negative = false
        if i < n && (p[i] == 0x2B || p[i] == 0x2D) {
            negative = p[i] == 0x2D
            i += 1
        }
        var seconds: Int64 = 0
        var nanoseconds: Int64 = 0
        var overflow = false
        let integerStart = i
        while i < n, ExpositionBytes.isDigit(p[i]) {
            let (times10, overflow1) = seconds.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(p[i] &- 0x30))
            overflow = overflow || overflow1 || overflow2
            seconds = sum
            i += 1
        }
        let hasInteger = i > integerStart
        if hasInteger && !overflow && i < n && p[i] == 0x2E {
            i += 1
            var scale: Int64 = 100_000_000
            while i < n, ExpositionBytes.isDigit(p[i]) {
                nanoseconds += Int64(p[i] &- 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        if hasInteger && !overflow && i == n {
            return ExpositionTimestamp(negative: negative, seconds: seconds, nanoseconds: nanoseconds)
        }
        guard let value = parseFloat(p, count: n), value.isFinite else { return nil }
        return ExpositionTimestamp(seconds: value)
    }
}
