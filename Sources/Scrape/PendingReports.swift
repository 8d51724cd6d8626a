import Synchronization

/// The reports of one loop's scrapes that are in the log and not yet durable. Each is handed to
/// `deliver` once its scrape is durable (or failed), in the order the scrapes were added, on
/// whichever thread completed the last one of them; one at a time.
///
/// The loop goes on scraping while its earlier scrapes wait for the disk (an `fdatasync` can
/// stall for seconds on a busy or networked disk), and waits itself only when too many do
/// (``wait(untilFewerThan:)``).
final class PendingReports: Sendable {
    private struct Entry {
        var report: ScrapeReport
        var outcome: Result<Void, any Error>?
    }

    private struct State {
        /// Not yet delivered, in order; `first` is the number of `entries[0]`.
        var entries: [Entry] = []
        var first = 0
        /// A thread is handing reports to `deliver`: no other starts.
        var delivering = false
        var waiter: (below: Int, continuation: CheckedContinuation<Void, Never>)?

        /// Removes and returns the reports at the front whose scrapes are done.
        mutating func takeDone() -> [(ScrapeReport, Result<Void, any Error>)] {
            let done = entries.prefix { $0.outcome != nil }.count
            guard done > 0 else { return [] }
            let taken = entries[..<done].map { ($0.report, $0.outcome!) }
            entries.removeFirst(done)
            first += done
            return taken
        }

        /// The waiter, taken, when it waits for fewer entries than there are now.
        mutating func waiterToResume() -> CheckedContinuation<Void, Never>? {
            guard let waiter, entries.count < waiter.below else { return nil }
            self.waiter = nil
            return waiter.continuation
        }
    }

    private let state = Mutex(State())
    private let deliver: @Sendable (ScrapeReport, Result<Void, any Error>) -> Void

    init(deliver: @escaping @Sendable (ScrapeReport, Result<Void, any Error>) -> Void) {
        self.deliver = deliver
    }

    /// Adds the report of a scrape about to be appended; returns its number for ``completed(_:_:)``.
    func add(_ report: ScrapeReport) -> Int {
        state.withLock { state in
            state.entries.append(Entry(report: report))
            return state.first + state.entries.count - 1
        }
    }

    /// The scrape numbered `number` is durable (or failed): delivers its report, and those after
    /// it that are done, once every report before it is delivered.
    func completed(_ number: Int, _ outcome: Result<Void, any Error>) {
        let claimed = state.withLock { state -> Bool in
            state.entries[number - state.first].outcome = outcome
            guard !state.delivering else { return false }
            state.delivering = true
            return true
        }
        // The thread delivering takes this one too: it looks again before it stops.
        guard claimed else { return }
        while true {
            let (done, resume) = state.withLock {
                state -> ([(ScrapeReport, Result<Void, any Error>)], CheckedContinuation<Void, Never>?) in
                let done = state.takeDone()
                guard done.isEmpty else { return (done, nil) }
                state.delivering = false
                return (done, state.waiterToResume())
            }
            resume?.resume()
            if done.isEmpty { return }
            for (report, outcome) in done { deliver(report, outcome) }
        }
    }

    /// Returns once fewer than `count` reports wait, every one before them delivered (the loop's
    /// one waiter: `count` 1 waits for all of them).
    func wait(untilFewerThan count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.entries.count >= count || state.delivering else { return true }
                precondition(state.waiter == nil, "one waiter at a time")
                state.waiter = (count, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
