import Synchronization
import Testing

@testable import Scrape

@Suite struct PendingReportsTests {
    struct Refused: Error {}

    /// Scrapes made durable in any order, from many threads at once, are reported in the order
    /// they were made, each once, with its outcome; waiting for none pending returns after the last.
    @Test func reportsGoOutInTheOrderOfTheScrapesWhateverOrderTheDiskAnswersIn() async {
        let delivered = Mutex<[(Int64, Bool)]>([])
        let reports = PendingReports { report, outcome in
            let succeeded = if case .success = outcome { true } else { false }
            delivered.withLock { $0.append((report.timestamp, succeeded)) }
        }
        let count = 500
        let numbers = (0..<count).map { reports.add(ScrapeReport(timestamp: Int64($0), duration: 0, samples: 0)) }
        #expect(numbers == Array(0..<count))
        await withTaskGroup(of: Void.self) { group in
            for number in numbers.shuffled() {
                group.addTask { reports.completed(number, number % 7 == 3 ? .failure(Refused()) : .success(())) }
            }
        }
        await reports.wait(untilFewerThan: 1)
        let got = delivered.withLock { $0 }
        #expect(got.map(\.0) == (0..<count).map(Int64.init))
        #expect(got.map(\.1) == (0..<count).map { $0 % 7 != 3 })
    }

    /// The loop's wait returns at once below the count, and otherwise once enough are delivered;
    /// a report waits for the ones before it.
    @Test func aWaitEndsWhenEnoughAreDeliveredAndALaterScrapeWaitsForAnEarlierOne() async {
        let delivered = Mutex<[Int64]>([])
        let reports = PendingReports { report, _ in delivered.withLock { $0.append(report.timestamp) } }
        let first = reports.add(ScrapeReport(timestamp: 1, duration: 0, samples: 0))
        let second = reports.add(ScrapeReport(timestamp: 2, duration: 0, samples: 0))
        await reports.wait(untilFewerThan: 3)
        reports.completed(second, .success(()))
        #expect(delivered.withLock { $0 }.isEmpty)
        let waited = Task { await reports.wait(untilFewerThan: 1) }
        reports.completed(first, .success(()))
        await waited.value
        #expect(delivered.withLock { $0 } == [1, 2])
    }
}
