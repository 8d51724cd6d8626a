import Config
import Foundation
import Primitives
import RemoteWrite
import Scrape
import Synchronization

/// The running components as the web UI shows them: Alloy's component list and detail pages
/// (health with a message, evaluated arguments, exports, debug info) and the graph's edges with
/// what leaves each component.
///
/// The running parts only count (cheaply, on their own paths) and tell the registry what changed
/// (`discovered(_:)`, `setHealth(_:_:message:)`); a request reads them. What a kind of component
/// reports is one `Reader` in `readers`, keyed by its block name; a kind without one is shown
/// with the health its parts set and, if it discovers targets, their number.
///
/// A new kind of component plugs in this way:
/// - Its arguments (secrets redacted), references and data-flow edges need nothing: `AgentConfig`
///   makes a `ComponentDeclaration` of every block (using another's `receiver` is an edge to it,
///   using its other exports an edge from it). A new credential attribute name goes in
///   `ComponentDeclaration.secretAttributes`.
/// - A discovery component: its running part puts its targets in the snapshot `TargetDiscovery`
///   hands to `discovered(_:)` and calls `setHealth` when a refresh succeeds or fails; the
///   fallback then shows its health, its `targets` export and their number on its edges.
/// - Anything more (samples, debug info): one entry in `readers` returning a `Report`, with an
///   `Outgoing` whose count is a cumulative counter its hot path bumps (an `Atomic`, as
///   `ComponentSampleCounter` does); the graph turns it into a rate.
final class ComponentRegistry: Sendable {
    enum HealthState: String, Sendable, Encodable { case healthy, unhealthy, unknown, exited }

    /// A component's health, as Alloy's API gives it.
    struct Health: Sendable, Encodable, Equatable {
        var state: HealthState
        var message: String
        /// When the health last changed (RFC 3339), when the component's parts say.
        var updatedTime: String?
    }

    /// What flows along a component's outgoing edges (Alloy's live-debugging data types).
    enum FlowType: String, Sendable, Encodable {
        case target
        case prometheusMetric = "prometheus_metric"
    }

    /// What leaves a component: to the components its data flows to, or to a remote endpoint.
    struct Outgoing: Sendable, Equatable {
        var type: FlowType
        /// Targets: how many it exports now. Samples: how many have left since the agent started.
        var count: UInt64
        /// For what leaves the agent: the remote-write endpoint's name and URL.
        var endpoint: String? = nil
        var url: String? = nil

        /// Whether `count` only grows (so a rate means something).
        var cumulative: Bool { type != .target }
    }

    /// What one component reports now.
    struct Report: Sendable {
        var health: Health
        var exports: [AlloyStatement]? = nil
        var debugInfo: [AlloyStatement]? = nil
        /// What leaves it: one entry for its data-flow edges, or one per endpoint for a sink.
        var outgoing: [Outgoing] = []
    }

    /// What a reader can look at.
    struct Parts: Sendable {
        var config: AgentConfig
        /// The latest targets of each discovery component.
        var discovered: [ComponentID: [[String: String]]]
        /// Health set by the components' running parts.
        var health: [ComponentID: Health]
        var board: TargetStatusBoard
        var appended: ComponentSampleCounter
        /// A remote-write endpoint's counters, by endpoint name.
        var remoteWrite: @Sendable (String) -> RemoteWriteMetrics?

        func targets(of source: TargetsSource) -> [[String: String]] {
            source.resolve { discovered[$0] ?? [] }
        }
    }

    typealias Reader = @Sendable (ComponentID, Parts) -> Report

    private struct State {
        var config: AgentConfig
        var discovered: [ComponentID: [[String: String]]] = [:]
        var health: [ComponentID: Health] = [:]
        var rates = FlowRates()
    }

    private let state: Mutex<State>
    private let board: TargetStatusBoard
    let appended: ComponentSampleCounter
    private let remoteWrite: @Sendable (String) -> RemoteWriteMetrics?

    init(
        config: AgentConfig, board: TargetStatusBoard, appended: ComponentSampleCounter,
        remoteWrite: @escaping @Sendable (String) -> RemoteWriteMetrics?
    ) {
        state = Mutex(State(config: config))
        self.board = board
        self.appended = appended
        self.remoteWrite = remoteWrite
    }

    /// A new configuration was loaded (at a reload).
    func configure(_ config: AgentConfig) {
        state.withLock { state in
            state.config = config
            let ids = Set(config.evaluationOrder)
            state.discovered = state.discovered.filter { ids.contains($0.key) }
            state.health = state.health.filter { ids.contains($0.key) }
        }
    }

    /// The latest targets of every discovery component.
    func discovered(_ targets: [ComponentID: [[String: String]]]) {
        state.withLock { $0.discovered = targets }
    }

    /// Sets a component's health, as its running part sees it.
    func setHealth(_ id: ComponentID, _ health: HealthState, message: String, at time: Date = Date()) {
        let updated = Health(state: health, message: message, updatedTime: Self.timestamp(time))
        state.withLock { state in
            if state.health[id]?.state != health || state.health[id]?.message != message { state.health[id] = updated }
        }
    }

    /// The configuration and every component's report, in evaluation order.
    func reports() -> (config: AgentConfig, reports: [(ComponentID, Report)]) {
        let parts = state.withLock { state in
            Parts(
                config: state.config, discovered: state.discovered, health: state.health, board: board,
                appended: appended, remoteWrite: remoteWrite)
        }
        let reports = parts.config.evaluationOrder.map { id in
            (id, (Self.readers[id.name] ?? Self.fallback)(id, parts))
        }
        return (parts.config, reports)
    }

    /// Per second over about the last `window` seconds, for each cumulative count keyed by
    /// `key`; nil for a key first seen now. Reading records the counts for later readings.
    func rates(_ counts: [String: UInt64], window: Double, now: Double = Date().timeIntervalSince1970) -> [String:
        Double]
    {
        state.withLock { $0.rates.rates(counts, window: window, now: now) }
    }

    /// `1 target`, `2 targets`.
    static func count(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func timestamp(_ date: Date) -> String {
        UTCTime.seconds(Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    // MARK: What each kind of component reports

    static let readers: [String: Reader] = [
        "discovery.file": { id, parts in
            guard let targets = parts.discovered[id] else {
                return Report(
                    health: parts.health[id] ?? Health(state: .unknown, message: "the files have not been read yet"))
            }
            return Report(
                health: parts.health[id] ?? Health(state: .healthy, message: count(targets.count, "target")),
                exports: [.attribute(name: "targets", value: .targets(targets))],
                outgoing: [Outgoing(type: .target, count: UInt64(targets.count))])
        },
        "discovery.relabel": { id, parts in
            guard let component = parts.config.relabels.first(where: { $0.id == id }) else {
                return fallback(id, parts)
            }
            let input = parts.targets(of: component.targets)
            let output = parts.targets(of: component.output)
            return Report(
                health: Health(state: .healthy, message: "\(count(input.count, "target")) in, \(output.count) out"),
                exports: [.attribute(name: "output", value: .targets(output))],
                outgoing: [Outgoing(type: .target, count: UInt64(output.count))])
        },
        "prometheus.scrape": { id, parts in
            let job = id.description
            let targets = parts.board.all.filter { $0.job == job }
            let here = targets.filter(\.scrapedHere)
            let down = here.filter { $0.health == .down }
            var message = "\(count(targets.count, "target")), \(here.count) scraped here"
            if !down.isEmpty {
                message += ", \(down.count) down: \(down[0].url): \(down[0].lastError ?? "down")"
            }
            let state: HealthState = !here.isEmpty && down.count == here.count ? .unhealthy : .healthy
            let debug = targets.map { target -> AlloyStatement in
                var body: [AlloyStatement] = [
                    .attribute(name: "health", value: .string(target.health.rawValue)),
                    .attribute(name: "scraped_here", value: .bool(target.scrapedHere)),
                ]
                if let last = target.lastScrape {
                    body.append(
                        .attribute(
                            name: "last_scrape",
                            value: .string(timestamp(Date(timeIntervalSince1970: Double(last) / 1000)))))
                }
                if let samples = target.lastSamples { body.append(.attribute(name: "samples", value: .int(samples))) }
                if let seconds = target.lastDurationSeconds {
                    body.append(.attribute(name: "duration_seconds", value: .float(seconds)))
                }
                if let error = target.lastError { body.append(.attribute(name: "last_error", value: .string(error))) }
                return .block(name: "target", label: target.url, body: body)
            }
            return Report(
                health: Health(state: state, message: message), debugInfo: debug,
                outgoing: [Outgoing(type: .prometheusMetric, count: parts.appended.total(job: job))])
        },
        "prometheus.relabel": { id, parts in
            guard let component = parts.config.prometheusRelabel(id) else { return fallback(id, parts) }
            // Shared with the scrape loops whose samples pass through it (MetricRelabelCounters).
            let reading = MetricRelabelCounters.named(id.description).reading
            return Report(
                health: Health(
                    state: .healthy,
                    message: "\(count(component.rules.count, "rule")); \(reading.processed) samples in, "
                        + "\(reading.written) out, \(reading.processed - reading.written) dropped"),
                exports: [.attribute(name: "receiver", value: .capsule("\(id).receiver"))],
                debugInfo: [
                    .attribute(name: "metrics_processed", value: .int(reading.processed)),
                    .attribute(name: "metrics_written", value: .int(reading.written)),
                    .attribute(name: "cache_hits", value: .int(reading.cacheHits)),
                    .attribute(name: "cache_misses", value: .int(reading.cacheMisses)),
                ],
                outgoing: [Outgoing(type: .prometheusMetric, count: UInt64(reading.written))])
        },
        "prometheus.remote_write": { id, parts in
            guard let component = parts.config.remoteWrite(id) else { return fallback(id, parts) }
            var outgoing: [Outgoing] = []
            var debug: [AlloyStatement] = []
            var failing: [String] = []
            var sent: UInt64 = 0
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for endpoint in component.endpoints {
                let metrics = parts.remoteWrite(endpoint.name) ?? RemoteWriteMetrics()
                sent += metrics.samplesTotal
                outgoing.append(
                    Outgoing(
                        type: .prometheusMetric, count: metrics.samplesTotal, endpoint: endpoint.name, url: endpoint.url
                    ))
                let failures = metrics.failedAttempts.values.reduce(0, +)
                // Samples waiting longer than a few send deadlines: the endpoint is not taking them.
                let stuckAfter = max(30_000, Int64(endpoint.queue.batchSendDeadline.components.seconds) * 3000)
                if let oldest = metrics.oldestPendingTimestamp, now - oldest > stuckAfter {
                    let reasons = metrics.failedAttempts.map { "\($0.key)" }.sorted().joined(separator: ", ")
                    failing.append(
                        "\(endpoint.name): \(metrics.pendingSamples) samples waiting"
                            + (reasons.isEmpty ? "" : " (failed attempts: \(reasons))"))
                }
                debug.append(
                    .block(
                        name: "endpoint", label: endpoint.name,
                        body: [
                            .attribute(name: "url", value: .string(endpoint.url)),
                            .attribute(name: "samples_sent", value: .int(Int(metrics.samplesTotal))),
                            .attribute(name: "samples_pending", value: .int(metrics.pendingSamples)),
                            .attribute(name: "samples_failed", value: .int(Int(metrics.failedSamplesTotal))),
                            .attribute(name: "samples_retried", value: .int(Int(metrics.retriedSamplesTotal))),
                            .attribute(name: "requests_sent", value: .int(Int(metrics.requestsTotal))),
                            .attribute(name: "failed_attempts", value: .int(Int(failures))),
                            .attribute(name: "shards", value: .int(metrics.shards)),
                        ]))
            }
            let health =
                failing.isEmpty
                ? Health(
                    state: .healthy,
                    message: "\(sent) samples sent to "
                        + (component.endpoints.count == 1 ? "1 endpoint" : "\(component.endpoints.count) endpoints"))
                : Health(state: .unhealthy, message: failing.joined(separator: "; "))
            return Report(
                health: health, exports: [.attribute(name: "receiver", value: .capsule("\(id).receiver"))],
                debugInfo: debug, outgoing: outgoing)
        },
    ]

    /// A kind of component without a reader: the health its parts set, and its discovered targets if any.
    static let fallback: Reader = { id, parts in
        let health =
            parts.health[id] ?? Health(state: .unknown, message: "agentd reports no status for this component")
        guard let targets = parts.discovered[id] else { return Report(health: health) }
        return Report(
            health: health, exports: [.attribute(name: "targets", value: .targets(targets))],
            outgoing: [Outgoing(type: .target, count: UInt64(targets.count))])
    }
}

/// Rates of cumulative counts, from the readings kept by the requests that ask for them: no
/// timer runs while nobody looks.
struct FlowRates: Sendable {
    private var readings: [(time: Double, counts: [String: UInt64])] = []
    /// Readings older than this are dropped: the widest window a request may ask for, and some.
    static let horizon: Double = 65
    /// Readings closer together than this are not kept (the rates still use the latest counts).
    static let spacing: Double = 0.25

    /// Per second between now and the newest kept reading at least `window` seconds old (the
    /// oldest one, when none is that old); nil for a key no kept reading has.
    mutating func rates(_ counts: [String: UInt64], window: Double, now: Double) -> [String: Double] {
        readings.removeAll { $0.time < now - Self.horizon || $0.time > now }
        let base = readings.last { $0.time <= now - window } ?? readings.first
        var rates: [String: Double] = [:]
        if let base, now > base.time {
            for (key, count) in counts {
                guard let before = base.counts[key] else { continue }
                rates[key] = count >= before ? Double(count - before) / (now - base.time) : 0
            }
        }
        if readings.last.map({ now - $0.time >= Self.spacing }) ?? true {
            readings.append((now, counts))
        }
        return rates
    }
}

/// Samples appended per `prometheus.scrape` component (its job), since the agent started: the
/// graph's scrape edges. Fed by the scrape loops as a `ScrapeObserver`; one atomic add per scrape.
final class ComponentSampleCounter: ScrapeObserver {
    private final class Total: Sendable {
        let value = Atomic<UInt64>(0)
    }
    private struct State {
        var byJob: [String: Total] = [:]
        var byTarget: [UInt64: Total] = [:]
    }
    private let state = Mutex(State())

    init() {}

    func total(job: String) -> UInt64 {
        state.withLock { $0.byJob[job] }?.value.load(ordering: .relaxed) ?? 0
    }

    func targetStarted(_ target: ScrapeTarget, job: String) {
        state.withLock { state in
            let total = state.byJob[job] ?? Total()
            state.byJob[job] = total
            state.byTarget[target.key] = total
        }
    }

    func targetRemoved(_ key: UInt64) {
        _ = state.withLock { $0.byTarget.removeValue(forKey: key) }
    }

    func scraped(_ key: UInt64, report: ScrapeReport) {
        guard report.appended > 0, let total = state.withLock({ $0.byTarget[key] }) else { return }
        total.value.add(UInt64(report.appended), ordering: .relaxed)
    }
}
