import Foundation
import TestSupport
import Testing

@testable import Scrape

/// Number literals, checked through the parser against Swift's own correctly-rounded conversion.
@Suite struct ExpositionNumberTests {
    /// The value the text parser reads for `literal`, or `nil` if it rejects it.
    static func parsedValue(_ literal: String, _ format: ExpositionFormat = .prometheusText) -> Double? {
        let body = "m " + literal + (format == .openMetrics ? "\n# EOF\n" : "\n")
        guard case .success(let samples) = parseWhole(body, format) else { return nil }
        return samples.first?.value
    }

    @Test func randomDoublesRoundTripBitForBit() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<5_000 {
            let value: Double
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                value = Double(
                    bitPattern: rng.next() & ~(0x7FF << 52) | (UInt64.random(in: 0..<0x7FF, using: &rng) << 52))
            case 1: value = Double(Int64.random(in: -1_000_000_000...1_000_000_000, using: &rng)) / 1000
            default: value = Double.random(in: 0..<1e12, using: &rng)
            }
            for literal in ["\(value)", String(format: "%.17g", value), String(format: "%.6e", value)] {
                let expected = Double(literal)
                #expect(Self.parsedValue(literal)?.bitPattern == expected?.bitPattern, "\(literal)")
            }
        }
    }

    /// Decimals of 16 to 19 significant digits, past Clinger's fast path, across the whole range of
    /// exponents (subnormals and overflow included), and 20 to 25 digits, read as Swift reads them.
    @Test func longSignificandsAreRoundedCorrectly() {
        var rng = SeededGenerator(seed: 17)
        for _ in 0..<20_000 {
            let digits = Int.random(in: 16...25, using: &rng)
            var significand = String(UInt8.random(in: 1...9, using: &rng))
            for _ in 1..<digits { significand += String(UInt8.random(in: 0...9, using: &rng)) }
            let point = Int.random(in: 0...digits, using: &rng)
            let exponent = Int.random(in: -345...330, using: &rng)
            var literal = String(significand.prefix(point)) + "." + String(significand.dropFirst(point))
            if literal.hasPrefix(".") { literal = "0" + literal }
            literal += "e\(exponent)"
            if Bool.random(using: &rng) { literal = "-" + literal }
            #expect(Self.parsedValue(literal)?.bitPattern == Double(literal)?.bitPattern, "\(literal)")
        }
    }

    /// Zeros before the first significant digit, on either side of the point, do not count toward
    /// the 19 digits a significand holds: literals of up to 50 digits, of which up to 25 leading
    /// zeros, read as Swift reads them.
    @Test func leadingZerosAreNotSignificant() {
        var rng = SeededGenerator(seed: 23)
        for _ in 0..<10_000 {
            var digits = String(repeating: "0", count: Int.random(in: 0...25, using: &rng))
            digits += String(UInt8.random(in: 1...9, using: &rng))
            for _ in 0..<Int.random(in: 0...24, using: &rng) { digits += String(UInt8.random(in: 0...9, using: &rng)) }
            let point = Int.random(in: 0...digits.count, using: &rng)
            var literal = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            if literal.hasPrefix(".") && Bool.random(using: &rng) { literal = "0" + literal }
            if literal.hasSuffix(".") && Bool.random(using: &rng) { literal.removeLast() }
            if Bool.random(using: &rng) { literal += "e\(Int.random(in: -40...40, using: &rng))" }
            #expect(Self.parsedValue(literal)?.bitPattern == Double(literal)?.bitPattern, "\(literal)")
        }
    }

    /// Eisel–Lemire decides almost every 17-digit decimal a Go or Python exporter writes (the
    /// shortest round-trip form), so `strtod` is the exception; where it decides, it is right.
    @Test func eiselLemireDecidesShortestRoundTripForms() throws {
        var rng = SeededGenerator(seed: 7)
        var decided = 0
        let count = 10_000
        for _ in 0..<count {
            let value = Double.random(in: 1e-20..<1e20, using: &rng)
            let literal = String(format: "%.16e", value)  // 17 significant digits
            let parts = literal.split(separator: "e")
            let significand = try #require(UInt64(parts[0].replacingOccurrences(of: ".", with: "")))
            let exponent = try #require(Int(parts[1])) - 16
            if let result = ExpositionNumber.eiselLemire(significand, exponent, negative: false) {
                decided += 1
                #expect(result.bitPattern == Double(literal)?.bitPattern, "\(literal)")
            }
        }
        #expect(decided >= count * 99 / 100, "decided \(decided) of \(count)")
    }

    /// Decimals at the edges: ties to even at 2^53, the smallest normal and the largest subnormal,
    /// the smallest subnormal and the two sides of half of it, the largest finite and the first
    /// past it, and a halfway value written out in full (55 digits) and the one just above it.
    @Test(arguments: [
        ("9007199254740993", 9_007_199_254_740_992.0), ("9007199254740995", 9_007_199_254_740_996.0),
        ("2.2250738585072014e-308", 2.2250738585072014e-308), ("2.2250738585072011e-308", 2.2250738585072011e-308),
        ("4.9406564584124654e-324", 4.9406564584124654e-324), ("2.4703282292062328e-324", 4.9406564584124654e-324),
        ("2.4703282292062327e-324", 0), ("1.7976931348623157e308", 1.7976931348623157e308),
        ("1.7976931348623159e308", .infinity), ("1234.5600000000002", 1234.5600000000002),
        ("1.00000000000000011102230246251565404236316680908203125", 1),
        ("1.00000000000000011102230246251565404236316680908203126", 1.0000000000000002),
        ("7.2057594037927933e16", 72_057_594_037_927_936), ("0.30000000000000004", 0.30000000000000004),
    ])
    func edgeLiteralIsRead(_ literal: String, _ expected: Double) {
        #expect(Self.parsedValue(literal)?.bitPattern == expected.bitPattern)
    }

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("1", 1), ("+1", 1), ("1.", 1), (".5", 0.5), ("-.5", -0.5), ("1e3", 1000),
        ("1E-3", 0.001), ("00001.2e-1", 0.12), ("9223372036854775808", 9_223_372_036_854_775_808),
        ("123456789012345678901234567890", 1.2345678901234568e29), ("1e400", .infinity), ("1e-400", 0),
        ("Inf", .infinity), ("+inf", .infinity), ("-Infinity", -.infinity), ("iNf", .infinity),
    ])
    func literalIsRead(_ literal: String, _ expected: Double) {
        #expect(Self.parsedValue(literal)?.bitPattern == expected.bitPattern)
    }

    @Test func notANumberIsReadCaseInsensitively() {
        for literal in ["NaN", "nan", "NAN"] {
            #expect(Self.parsedValue(literal)?.isNaN == true)
            #expect(Self.parsedValue(literal, .openMetrics)?.isNaN == true)
        }
    }

    @Test(arguments: ["", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1_0", "0x10", "1,5", "Infx", "nana", "--1"])
    func malformedLiteralIsRejected(_ literal: String) {
        #expect(Self.parsedValue(literal) == nil)
        #expect(Self.parsedValue(literal, .openMetrics) == nil)
    }
}
