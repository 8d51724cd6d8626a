/// One line of progress for a long command: the share done, a bar, the rate and the time left.
///
///     wal verify  42% [########············]  12.5 MiB/s  ETA 3s
///
/// A pure function of the figures, so that the terminal's bar and the plain periodic lines
/// read the same.
public struct ProgressLine: Sendable, Equatable {
    public var title: String
    public var done: Int
    public var total: Int
    /// Seconds since the work began.
    public var elapsed: Double

    public init(title: String, done: Int, total: Int, elapsed: Double) {
        self.title = title
        self.done = done
        self.total = total
        self.elapsed = elapsed
    }

    /// The share done, 0…1 (1 when there is nothing to do).
    public var fraction: Double { total > 0 ? min(1, max(0, Double(done) / Double(total))) : 1 }

    /// Bytes per second so far; nil before any time has passed.
    public var rate: Double? { elapsed > 0 ? Double(done) / elapsed : nil }

    /// Seconds left at the rate so far; nil while nothing is done yet.
    public var secondsLeft: Double? {
        guard let rate, rate > 0, done > 0 else { return nil }
        return Double(max(0, total - done)) / rate
    }

    /// The line, with a bar of `width` cells when `width` > 0.
    public func text(barWidth width: Int = 20) -> String {
        let percent = Int((fraction * 100).rounded(.down))
        var line = "\(title) \(String(repeating: " ", count: max(0, 3 - String(percent).count)))\(percent)%"
        if width > 0 {
            let filled = Int((fraction * Double(width)).rounded(.down))
            line += " [" + String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled) + "]"
        }
        line += "  " + (rate.map { Self.bytes($0) + "/s" } ?? "–")
        line += "  ETA " + (secondsLeft.map(Self.duration) ?? "–")
        return line
    }

    /// `12.5 MiB`, `980 KiB`, `512 B`.
    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = value
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(Int(value)) B" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }

    /// `3s`, `2m05s`, `1h02m`.
    public static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + two(whole % 60) + "s" }
        return "\(whole / 3600)h" + two(whole % 3600 / 60) + "m"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
