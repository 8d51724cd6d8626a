import Events
import HTTPSecurity
import Logging
import ServiceLifecycle
import Synchronization

/// Scrapes every target of every job: one ``ScrapeLoop`` per target, all of them children of
/// ``run()``, kept in step with discovery by ``update(job:settings:targets:)``: new targets start,
/// removed targets stop (with staleness markers), unchanged targets are left alone. Every change
/// of a job's target set is appended as a `targets` event.
///
/// ``run()`` runs the loops until a graceful shutdown or cancellation, then stops them all
/// without staleness markers (another member or the next process takes over) and returns.
public final class ScrapeService: Service, Sendable {
    private struct State {
        var loops: [String: [UInt64: RunningLoop]] = [:]
        /// Each job's credentials, kept while its HTTP settings stay the same: the files' stamps
        /// are remembered and the HTTP client's connections (keyed by the TLS configuration) reused.
        var credentials: [String: HTTPClientCredentials] = [:]
        /// Loops ``update(job:settings:targets:)`` is stopping, until they have.
        var stopping: [ObjectIdentifier: RunningLoop] = [:]
        /// After ``run()``: no loop starts any more.
        var isShutDown = false
    }

    private let context: ScrapeLoop.Context
    private let state = Mutex(State())
    /// Loops to start, for ``run()``.
    private let starts = AsyncStream.makeStream(of: RunningLoop.self)

    /// - Parameters:
    ///   - appender: where scrapes and `targets` events go (the event log).
    ///   - observers: told of every scrape, hand-over, started and removed target.
    ///   - clock: the time slots are waited for and samples stamped with.
    public init(
        appender: any ScrapeAppender, scraper: any TargetScraper, oracle: any OwnershipOracle,
        observers: [any ScrapeObserver] = [], clock: any ScrapeClock = WallClock(),
        logger: Logger = Logger(label: "agentd.scrape")
    ) {
        context = ScrapeLoop.Context(
            appender: appender, scraper: scraper, oracle: oracle, observers: observers, clock: clock, logger: logger)
    }

    /// The targets a job scrapes, from its discovered label sets.
    public static func targets(discovered: [[String: String]], settings: ScrapeSettings) -> [ScrapeTarget] {
        var seen = Set<UInt64>()
        return discovered.compactMap { ScrapeTarget(discovered: $0, settings: settings) }.filter {
            seen.insert($0.key).inserted
        }
    }

    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await loop in starts.stream {
                    group.addTask { await loop.run() }
                }
                // Shutdown or cancellation: stop every loop quietly.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
        shutDown()
        // Every loop that started has ended; those that never did (cancelled before ``run()`` took
        // them) count as stopped.
        let leftovers = state.withLock { state in
            defer { state.loops = [:] }
            return state.loops.values.flatMap(\.values) + state.stopping.values
        }
        for loop in leftovers { loop.markFinished() }
    }

    private func shutDown() {
        state.withLock { $0.isShutDown = true }
        starts.continuation.finish()
    }

    /// Makes `job` scrape exactly `targets` with `settings`; returns once the stopped loops have
    /// stopped (the removed targets' staleness markers appended). Does nothing after ``run()``.
    public func update(job: String, settings: ScrapeSettings, targets: [ScrapeTarget]) async {
        let began = ContinuousClock.now
        defer {
            let duration = ContinuousClock.now - began
            for observer in context.observers { observer.jobSynced(job, duration: duration) }
        }
        var settings = settings
        settings.targetLimitFailure = nil
        if settings.targetLimit > 0 && targets.count > settings.targetLimit {
            settings.targetLimitFailure =
                "target_limit exceeded (number of targets: \(targets.count), limit: \(settings.targetLimit))"
            for observer in context.observers {
                observer.targetLimitExceeded(job: job, targets: targets.count, limit: settings.targetLimit)
            }
            context.logger.warning(
                "Scrape job has more targets than its target_limit; none is scraped",
                metadata: [
                    "scrape.job": "\(job)", "scrape.targets": "\(targets.count)",
                    "scrape.target_limit": "\(settings.targetLimit)",
                ])
        }
        let planned: (ScrapeJobUpdate, [(RunningLoop, ScrapeSchedule.StopReason)])? = state.withLock { state in
            guard !state.isShutDown else { return nil }
            var loops = state.loops[job] ?? [:]
            let change = ScrapeJobUpdate(
                running: loops.mapValues { (target: $0.loop.target, settings: $0.loop.settings) }, targets: targets,
                settings: settings)
            let credentials: HTTPClientCredentials
            if let kept = state.credentials[job], kept.settings == settings.http {
                credentials = kept
            } else {
                credentials = HTTPClientCredentials(settings: settings.http, owner: job)
            }
            state.credentials[job] = targets.isEmpty ? nil : credentials
            var stopped: [(RunningLoop, ScrapeSchedule.StopReason)] = []
            for stop in change.stops {
                guard let running = loops.removeValue(forKey: stop.key) else { continue }
                state.stopping[ObjectIdentifier(running)] = running
                stopped.append((running, stop.reason))
            }
            for target in change.starts {
                let running = RunningLoop(
                    ScrapeLoop(target: target, settings: settings, credentials: credentials, context: context))
                for observer in context.observers { observer.targetStarted(target, job: job) }
                loops[target.key] = running
                starts.continuation.yield(running)
            }
            state.loops[job] = loops
            return (change, stopped)
        }
        guard let (change, stopped) = planned else { return }
        for (running, reason) in stopped { running.stop(reason) }
        for (running, reason) in stopped {
            await running.finished()
            _ = state.withLock { $0.stopping.removeValue(forKey: ObjectIdentifier(running)) }
            if reason == .removed {
                for observer in context.observers { observer.targetRemoved(running.loop.target.key) }
            }
        }
        guard change.changesTargets else { return }
        let event = TargetsChange(
            time: context.clock.now / 1_000_000, added: change.added.map { .init(key: $0.key, labels: $0.discovered) },
            removed: change.removed)
        do {
            try await context.appender.append(targets: event)
        } catch {
            context.logger.error("Could not append a targets event to the WAL", metadata: ["error": "\(error)"])
        }
        context.logger.info(
            "Scrape targets changed",
            metadata: [
                "scrape.job": "\(job)", "scrape.added": "\(change.added.count)",
                "scrape.removed": "\(change.removed.count)",
            ])
    }

    /// Stops the jobs not in `jobs` (their targets get staleness markers, as removed targets).
    public func retainJobs(_ jobs: Set<String>) async {
        let gone = state.withLock { state in state.loops.keys.filter { !jobs.contains($0) } }
        for job in gone {
            await update(job: job, settings: ScrapeSettings(jobName: job), targets: [])
            state.withLock { _ = $0.loops.removeValue(forKey: job) }
        }
    }

    /// Every target of every job, with its settings.
    public var targets: [(job: String, target: ScrapeTarget, settings: ScrapeSettings)] {
        state.withLock { state in
            state.loops.flatMap { job, loops in loops.values.map { (job, $0.loop.target, $0.loop.settings) } }
        }
    }
}

/// A loop as ``ScrapeService`` runs it: until stopped (or cancelled), with a way to wait for its end.
private final class RunningLoop: Sendable {
    let loop: ScrapeLoop
    private let stopSignal = AsyncStream.makeStream(of: Never.self)
    private let completion = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(_ loop: ScrapeLoop) { self.loop = loop }

    /// Runs the loop until ``stop(_:)`` or cancellation.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop.run() }
            group.addTask { for await _ in self.stopSignal.stream {} }
            await group.next()
            group.cancelAll()
        }
        markFinished()
    }

    /// Stops the loop for `reason` (at once if it has not started).
    func stop(_ reason: ScrapeSchedule.StopReason) {
        loop.setStopReason(reason)
        stopSignal.continuation.finish()
    }

    /// Returns once the loop has ended.
    func finished() async {
        await withCheckedContinuation { continuation in
            let done = completion.withLock { completion in
                if !completion.done { completion.waiters.append(continuation) }
                return completion.done
            }
            if done { continuation.resume() }
        }
    }

    /// The loop has ended (or will never start).
    func markFinished() {
        let waiters = completion.withLock { completion in
            defer { completion = (true, []) }
            return completion.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
