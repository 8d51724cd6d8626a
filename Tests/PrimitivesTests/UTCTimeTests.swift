import Foundation
import Primitives
import Testing

@Suite struct UTCTimeTests {
    /// Fixed points: the epoch, a millisecond before it, leap days (2000's, which a century year
    /// has only every 400 years), the turn of a year, and the last millisecond of year 9999.
    @Test func knownTimesAreWrittenAsISO8601() {
        #expect(UTCTime.milliseconds(0) == "1970-01-01T00:00:00.000")
        #expect(UTCTime.milliseconds(-1) == "1969-12-31T23:59:59.999")
        #expect(UTCTime.milliseconds(951_782_400_000) == "2000-02-29T00:00:00.000")
        #expect(UTCTime.milliseconds(951_868_799_999) == "2000-02-29T23:59:59.999")
        #expect(UTCTime.milliseconds(1_733_281_929_256) == "2024-12-04T03:12:09.256")
        #expect(UTCTime.milliseconds(1_798_761_599_000) == "2026-12-31T23:59:59.000")
        #expect(UTCTime.milliseconds(253_402_300_799_999) == "9999-12-31T23:59:59.999")
        #expect(UTCTime.seconds(0) == "1970-01-01T00:00:00Z")
        #expect(UTCTime.seconds(4_107_542_400) == "2100-03-01T00:00:00Z")  // 2100 has no 29 February
        #expect(UTCTime.seconds(-2_203_891_200) == "1900-03-01T00:00:00Z")
    }

    /// Against Foundation's ISO 8601 format style, which the log and the CLI used before, over
    /// random whole seconds from 1600 to 9999 (and Foundation's calendar over the same days).
    @Test func randomTimesMatchFoundation() {
        var random = SplitMix64(seed: 0x5EED_1509)
        let first: Int64 = -11_676_096_000  // 1600-01-01
        let last: Int64 = 253_402_300_799  // 9999-12-31T23:59:59
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<5_000 {
            let seconds = first + Int64(random.next() % UInt64(last - first + 1))
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(UTCTime.seconds(seconds) == date.formatted(.iso8601), "\(seconds)")
            let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
            let civil = UTCTime.civilDate(daysSinceEpoch: days)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            #expect(parts.year == Int(civil.year) && parts.month == civil.month && parts.day == civil.day, "\(seconds)")
        }
    }

    /// Milliseconds as the log writes them: on whole seconds, Foundation's fractional style gives
    /// the same text; otherwise the same date and time, and the millisecond itself (which
    /// Foundation reached through a `Double` of seconds).
    @Test func millisecondsMatchFoundationsFractionalStyle() {
        var random = SplitMix64(seed: 0x4D5)
        let style = Date.ISO8601FormatStyle().year().month().day().time(includingFractionalSeconds: true)
        for _ in 0..<2_000 {
            let milliseconds = Int64(random.next() % 4_102_444_800_000)  // 1970 to 2100
            let whole = milliseconds - milliseconds % 1_000
            #expect(
                UTCTime.milliseconds(whole) == Date(timeIntervalSince1970: Double(whole) / 1_000).formatted(style),
                "\(whole)")
            let fraction = String(milliseconds % 1_000 + 1_000).dropFirst()
            #expect(UTCTime.milliseconds(milliseconds) == UTCTime.seconds(whole / 1_000).dropLast() + "." + fraction)
        }
    }

    /// The clock reads the realtime clock: within a second of Foundation's `Date()`.
    @Test func nowIsTheRealtimeClock() {
        let before = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        let now = UTCTime.nowMilliseconds()
        let after = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.up))
        #expect(before <= now && now <= after)
    }
}
