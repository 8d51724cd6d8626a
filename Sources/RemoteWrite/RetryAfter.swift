/// Parses an HTTP `Retry-After` value: delay-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
enum RetryAfter {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The delay the header asks for, or `nil` when it is malformed or lies in the past.
    ///
    /// - Parameter now: the current time in seconds since the Unix epoch, for the date form.
    static func delay(_ value: String, now: Double) -> Duration? {
        let trimmed = value.trimmingSpaces()
        if let seconds = Int64(trimmed) {
            return seconds >= 0 ? .seconds(seconds) : nil
        }
        guard let date = self.parseIMFFixdate(trimmed) else { return nil }
        let delta = Double(date) - now
        return delta > 0 ? .milliseconds(Int64((delta * 1000).rounded(.up))) : nil
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` to seconds since the epoch.
    static func parseIMFFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int64(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
            let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int64(clock[0]), let minute = Int64(clock[1]),
            let second = Int64(clock[2]), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        return self.daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day) * 86_400 + hour * 3_600
            + minute * 60 + second
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
