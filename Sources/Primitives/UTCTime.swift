#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Times written as ISO 8601 in UTC, by arithmetic on the proleptic Gregorian calendar.
///
/// Foundation's `Date.ISO8601FormatStyle` gives the same text through a `Calendar`, which looks
/// the process's time zone up in ICU's data when it is first made, and from a `Double` of seconds.
/// This is integer arithmetic, exact to the millisecond and the same in every time zone: the log
/// writes a line without a calendar (docs/performance.md, "A section per function", says what
/// else still makes one).
public enum UTCTime {
    /// Milliseconds since the Unix epoch, now (the realtime clock).
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// `2026-12-04T03:12:09.256`: date, time and milliseconds, without a zone designator (the log's
    /// `ts` and the CLI's times, as `.iso8601.year().month().day().time(includingFractionalSeconds:
    /// true)` writes them).
    public static func milliseconds(_ milliseconds: Int64) -> String {
        let (seconds, millisecond) = floorDivision(milliseconds, 1_000)
        var text = dateAndTime(seconds)
        text.append(".")
        appendDigits(Int(millisecond), count: 3, to: &text)
        return text
    }

    /// `2026-12-04T03:12:09Z`: whole seconds with the zone designator (`.iso8601`).
    public static func seconds(_ seconds: Int64) -> String {
        var text = dateAndTime(seconds)
        text.append("Z")
        return text
    }

    /// The civil date of a day counted from 1970-01-01: years of 365.2425 days in eras of 400
    /// years (146,097 days), each era's years counted from March, so that a leap day is its
    /// year's last.
    public static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468  // days from 0000-03-01
        let (era, dayOfEra) = floorDivision(shifted, 146_097)
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func dateAndTime(_ seconds: Int64) -> String {
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text = ""
        text.reserveCapacity(24)
        if year < 0 { text.append("-") }
        appendDigits(Int(year.magnitude), count: 4, to: &text)
        text.append("-")
        appendDigits(month, count: 2, to: &text)
        text.append("-")
        appendDigits(day, count: 2, to: &text)
        text.append("T")
        appendDigits(Int(secondOfDay / 3_600), count: 2, to: &text)
        text.append(":")
        appendDigits(Int(secondOfDay / 60 % 60), count: 2, to: &text)
        text.append(":")
        appendDigits(Int(secondOfDay % 60), count: 2, to: &text)
        return text
    }

    /// `value` in decimal, zero-padded to at least `count` digits.
    private static func appendDigits(_ value: Int, count: Int, to text: inout String) {
        text.append(String(value, zeroPaddedTo: count))
    }

    /// Quotient rounded down and a remainder in `0..<divisor` (for times before the epoch).
    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }
}
