/// One sample as sent in a remote-write request: a millisecond timestamp and a float64 value.
///
/// Equality compares the value's bit pattern, so NaN equals the same NaN and the StaleNaN
/// marker (`0x7ff0000000000002`) is told apart from an ordinary NaN.
public struct RemoteWriteSample: Hashable, Sendable, CustomStringConvertible {
    /// The bit pattern Prometheus uses to mark a series stale.
    public static let staleNaNBitPattern: UInt64 = 0x7ff0_0000_0000_0002

    /// The staleness marker as a `Double`.
    public static let staleNaN = Double(bitPattern: staleNaNBitPattern)

    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// The value, sent bit-exact.
    public var value: Double

    /// Creates a sample.
    public init(timestamp: Int64, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }

    /// Whether the value is the StaleNaN marker.
    public var isStale: Bool { self.value.bitPattern == Self.staleNaNBitPattern }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.timestamp == rhs.timestamp && lhs.value.bitPattern == rhs.value.bitPattern
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.timestamp)
        hasher.combine(self.value.bitPattern)
    }

    public var description: String {
        let hex = String(self.value.bitPattern, radix: 16)
        return self.value.isNaN ? "\(self.timestamp)@NaN(0x\(hex))" : "\(self.timestamp)@\(self.value)"
    }
}
