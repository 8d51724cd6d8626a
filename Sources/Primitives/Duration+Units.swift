extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }

    /// The duration in whole milliseconds (saturating).
    public var milliseconds: Int64 { self.nanoseconds / 1_000_000 }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Duration {
    /// The duration as Prometheus writes one (`1h30m`, `15s`, `500ms`, `0s`): whole
    /// milliseconds, in years (365 days), weeks, days, hours, minutes, seconds and milliseconds.
    public var prometheusText: String {
        var left = milliseconds
        guard left > 0 else { return "0s" }
        var text = ""
        let units: [(String, Int64)] = [
            ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
            ("s", 1000), ("ms", 1),
        ]
        for (unit, size) in units where left >= size {
            text += "\(left / size)\(unit)"
            left %= size
        }
        return text
    }
}
