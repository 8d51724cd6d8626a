extension String {
    /// `value` in `radix` (lowercase letters), with zeros in front up to `width` digits; a value
    /// with more digits is written whole. Segment names, target keys, times and escapes use it.
    public init(_ value: some BinaryInteger, radix: Int = 10, zeroPaddedTo width: Int) {
        let digits = String(value, radix: radix)
        let missing = width - digits.utf8.count
        self = missing > 0 ? String(repeating: "0", count: missing) + digits : digits
    }
}
