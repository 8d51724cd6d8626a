import Events
import HTTPSecurity
import Synchronization

@testable import Scrape

/// A clock that moves only when the test says: sleepers wait until ``advance(to:)`` passes their
/// deadline, and the test can wait until a number of loops are asleep.
final class ManualClock: ScrapeClock {
    private struct Sleeper {
        var id: Int
        var deadline: Int64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Int64
        var nextID = 0
        var sleepers: [Sleeper] = []
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Sleepers cancelled before they were registered.
        var cancelled: Set<Int> = []
    }

    private let state: Mutex<State>

    init(now: Int64) { state = Mutex(State(now: now)) }

    var now: Int64 { state.withLock { $0.now } }

    /// The deadlines slept for, earliest first.
    var deadlines: [Int64] { state.withLock { $0.sleepers.map(\.deadline).sorted() } }

    func sleep(until deadline: Int64) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                switch register(Sleeper(id: id, deadline: deadline, continuation: continuation)) {
                case .asleep(let waiters): for waiter in waiters { waiter.resume() }
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    private enum Registration {
        /// Asleep; these waiters see enough sleepers now.
        case asleep([CheckedContinuation<Void, Never>])
        case due
        case cancelled
    }

    private func register(_ sleeper: Sleeper) -> Registration {
        state.withLock { state in
            if state.cancelled.remove(sleeper.id) != nil { return .cancelled }
            if sleeper.deadline <= state.now { return .due }
            state.sleepers.append(sleeper)
            return .asleep(Self.wakeWaiters(&state))
        }
    }

    /// Moves the clock to `time` and wakes the sleepers whose deadline it reaches.
    func advance(to time: Int64) {
        let due = state.withLock { state in
            state.now = max(state.now, time)
            let due = state.sleepers.filter { $0.deadline <= state.now }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once `count` sleepers wait on the clock.
    func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.sleepers.count >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func wakeWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let count = state.sleepers.count
        let ready = state.waiters.filter { $0.count <= count }.map(\.continuation)
        state.waiters.removeAll { $0.count <= count }
        return ready
    }
}

/// Serves each URL the body the test set (HTTP 200, text format), or fails it.
final class FakeScraper: TargetScraper {
    private let bodies = Mutex<[String: Result<String, ScrapeError>]>([:])
    private let fetched = Mutex<[String]>([])
    private let credentialsUsed = Mutex<[String: [HTTPClientCredentials?]]>([:])

    func serve(_ url: String, _ body: String) { bodies.withLock { $0[url] = .success(body) } }

    func fail(_ url: String, _ error: ScrapeError) { bodies.withLock { $0[url] = .failure(error) } }

    /// The URLs fetched, in order.
    var fetches: [String] { fetched.withLock { $0 } }

    /// The credentials each URL was fetched with, in order.
    func credentials(_ url: String) -> [HTTPClientCredentials?] { credentialsUsed.withLock { $0[url] ?? [] } }

    func fetch(
        url: String, timeout: Duration, bodySizeLimit: Int, credentials: HTTPClientCredentials?
    ) async throws(ScrapeError) -> ScrapeResponse {
        fetched.withLock { $0.append(url) }
        credentialsUsed.withLock { $0[url, default: []].append(credentials) }
        switch bodies.withLock({ $0[url] }) {
        case .success(let body): return ScrapeResponse(body: Array(body.utf8), contentType: "text/plain")
        case .failure(let error): throw error
        case nil: throw ScrapeError("server returned HTTP status 404 Not Found")
        }
    }
}

/// Keeps what is appended in memory; refs are handed out in order from 1. While the test holds
/// the disk (``holdDisk()``), appends that do not wait for it are kept and their durability held
/// back until ``releaseDisk(failing:)``.
final class MemoryAppender: ScrapeAppender {
    private struct State {
        var refs: [Labels: UInt64] = [:]
        var labels: [UInt64: Labels] = [:]
        var batches: [SampleBatch] = []
        var changes: [TargetsChange] = []
        var holding = false
        var held: [@Sendable (Result<Void, any Error>) -> Void] = []
        var heldWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    func refs(for labelSets: [Labels]) -> [UInt64] {
        state.withLock { state in
            labelSets.map { labels in
                if let ref = state.refs[labels] { return ref }
                let ref = UInt64(state.refs.count + 1)
                state.refs[labels] = ref
                state.labels[ref] = labels
                return ref
            }
        }
    }

    func append(samples batch: SampleBatch) async throws { state.withLock { $0.batches.append(batch) } }

    func append(
        samples batches: [SampleBatch], whenDurable durable: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws {
        let (holding, waiters) = state.withLock { state in
            state.batches += batches
            guard state.holding else { return (false, [CheckedContinuation<Void, Never>]()) }
            state.held.append(durable)
            let count = state.held.count
            defer { state.heldWaiters.removeAll { $0.count <= count } }
            return (true, state.heldWaiters.filter { $0.count <= count }.map(\.continuation))
        }
        for waiter in waiters { waiter.resume() }
        if !holding { durable(.success(())) }
    }

    /// From now on, appends that do not wait for the disk are not durable until released.
    func holdDisk() { state.withLock { $0.holding = true } }

    /// Makes every held append durable (or failed, with `error`), in order, and stops holding.
    func releaseDisk(failing error: (any Error)? = nil) {
        let held = state.withLock { state in
            defer { (state.holding, state.held) = (false, []) }
            return state.held
        }
        for durable in held { durable(error.map { .failure($0) } ?? .success(())) }
    }

    /// Returns once `count` appends wait for the held disk.
    func waitForHeld(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.held.count >= count { return true }
                state.heldWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func append(targets change: TargetsChange) async throws { state.withLock { $0.changes.append(change) } }

    var batches: [SampleBatch] { state.withLock { $0.batches } }
    func labels(_ ref: UInt64) -> Labels? { state.withLock { $0.labels[ref] } }
    var changes: [TargetsChange] { state.withLock { $0.changes } }

    /// Every sample appended, as (metric name, value, timestamp), in order.
    var samples: [(name: String, value: Double, timestamp: Int64)] {
        state.withLock { state in
            state.batches.flatMap { batch in
                (0..<batch.count).map { index in
                    (
                        state.labels[batch.refs[index]]?.metricName ?? "?", batch.values[index],
                        batch.timestamp(at: index)
                    )
                }
            }
        }
    }
}

/// Owns every slot but those the test gives away.
final class FakeOracle: OwnershipOracle {
    private let elsewhere = Mutex<Set<Int64>>([])

    func giveAway(_ slot: Int64) { _ = elsewhere.withLock { $0.insert(slot) } }

    func owns(_ key: UInt64, atSlot slot: Int64) -> Bool { !elsewhere.withLock { $0.contains(slot) } }

    func owner(of key: UInt64, at time: Int64) -> String? { nil }
}

/// Records what scraping reports: the targets running, and the last scrape of each.
final class RecordingObserver: ScrapeObserver {
    enum Event: Equatable {
        case started(UInt64)
        case removed(UInt64)
        case scraped(UInt64, timestamp: Int64)
        case ownedElsewhere(UInt64, slot: Int64)
    }

    private struct State {
        var events: [Event] = []
        var targets: [UInt64: ScrapeTarget] = [:]
        var reports: [UInt64: ScrapeReport] = [:]
    }

    private let state = Mutex(State())

    var events: [Event] { state.withLock { $0.events } }

    /// The targets started and not removed.
    var targets: [ScrapeTarget] { state.withLock { Array($0.targets.values) } }

    /// The last report of every target still running, by the target's `path` label.
    var lastReports: [String: ScrapeReport] {
        state.withLock { state in
            Dictionary(
                state.reports.compactMap { key, report in state.targets[key]?.labels["path"].map { ($0, report) } },
                uniquingKeysWith: { first, _ in first })
        }
    }

    func report(for key: UInt64) -> ScrapeReport? { state.withLock { $0.reports[key] } }

    func targetStarted(_ target: ScrapeTarget, job: String) {
        state.withLock { state in
            state.events.append(.started(target.key))
            state.targets[target.key] = target
        }
    }

    func targetRemoved(_ key: UInt64) {
        state.withLock { state in
            state.events.append(.removed(key))
            state.targets[key] = nil
            state.reports[key] = nil
        }
    }

    func scraped(_ key: UInt64, report: ScrapeReport) {
        state.withLock { state in
            state.events.append(.scraped(key, timestamp: report.timestamp))
            state.reports[key] = report
        }
    }

    func slotOwnedElsewhere(_ key: UInt64, slot: Int64) {
        state.withLock { $0.events.append(.ownedElsewhere(key, slot: slot)) }
    }
}
