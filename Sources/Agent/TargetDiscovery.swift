import Config
import DNSLookup
import Events
import HTTPSecurity
import Logging
import Scrape
import Synchronization

/// Feeds every `prometheus.scrape` component its targets: static lists at once, the outputs of
/// `discovery.file`, `discovery.dns`, `discovery.http` and `discovery.docker` whenever they
/// change, each through the `discovery.relabel` rules between them. A discovery whose refresh
/// fails keeps its last good targets; the failure is logged and shown in ``DiscoveryHealth``.
struct TargetDiscovery: Sendable {
    let config: AgentConfig
    let manager: ScrapeService
    let cluster: ClusterService?
    let logger: Logger
    var health = DiscoveryHealth()
    /// The clients `discovery.http` and `discovery.docker` fetch with.
    var pool: HTTPClientPool?
    var resolver: any DNSResolving = SystemResolver()
    /// Told the targets each discovery component found, and whether it could refresh them.
    var components: ComponentRegistry? = nil

    /// The settings a scrape component gives its loops, with the route of its `forward_to`.
    static func settings(for component: ScrapeComponent, in config: AgentConfig) -> ScrapeSettings {
        var settings = ScrapeSettings(
            jobName: component.jobName, interval: component.scrapeInterval, timeout: component.scrapeTimeout,
            metricsPath: component.metricsPath, scheme: component.scheme, params: component.params,
            honorLabels: component.honorLabels, honorTimestamps: component.honorTimestamps,
            sampleLimit: component.sampleLimit, bodySizeLimit: Int(component.bodySizeLimit),
            labelLimit: component.labelLimit, labelNameLengthLimit: component.labelNameLengthLimit,
            labelValueLengthLimit: component.labelValueLengthLimit, http: component.http,
            pipelines: pipelines(component.forwardTo, in: config))
        settings.targetLimit = component.targetLimit
        return settings
    }

    /// The pipelines of a `forward_to` list: its routes, each `prometheus.relabel` stage with
    /// its rules and the component's counters.
    static func pipelines(_ forwardTo: [ComponentID], in config: AgentConfig) -> [MetricPipeline] {
        config.routes(forwardTo).map { route in
            MetricPipeline(
                stages: route.stages.compactMap { id in
                    config.prometheusRelabel(id).map {
                        MetricRelabelStage(
                            id: id.description, rules: $0.rules, counters: .named(id.description))
                    }
                },
                route: route.receivers)
        }
    }

    func run() async {
        // One task applies the pictures, in the order they were made and only the newest of those
        // waiting: two components refreshing together must not apply an older picture last.
        let (pictures, continuation) = AsyncStream.makeStream(
            of: [ComponentID: [[String: String]]].self, bufferingPolicy: .bufferingNewest(1))
        let discovered = DiscoveredTargets(publishing: continuation)
        let dynamic =
            config.files.map(\.id) + config.dnsDiscoveries.map(\.id) + config.httpDiscoveries.map(\.id)
            + config.dockerDiscoveries.map(\.id)
        health.reset(components: dynamic.map(\.description))
        await apply([:])
        guard !dynamic.isEmpty else {
            // Nothing dynamic: stay alive until cancelled.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await picture in pictures { await self.apply(picture) }
            }
            for component in config.files {
                let discovery: FileDiscovery
                do {
                    discovery = try component.discovery()
                } catch {
                    logger.error(
                        "discovery.file is misconfigured",
                        metadata: ["component": "\(component.id)", "error": "\(error)"])
                    components?.setHealth(component.id, .unhealthy, message: "\(error)")
                    continue
                }
                let id = component.id
                let (logger, health, components) = (self.logger, self.health, self.components)
                group.addTask {
                    let updates = discovery.updates(interval: .seconds(1)) { error in
                        health.refreshed(id.description, error: "\(error)")
                        logger.warning(
                            "discovery.file could not read a file; keeping its previous targets",
                            metadata: ["component": "\(id)", "error": "\(error)"])
                        components?.setHealth(
                            id, .unhealthy, message: "could not read a file; keeping the previous targets: \(error)")
                    }
                    for await targets in updates {
                        health.refreshed(id.description, error: nil)
                        components?.setHealth(id, .healthy, message: ComponentRegistry.count(targets.count, "target"))
                        await publish(id, targets, into: discovered)
                    }
                }
            }
            for component in config.dnsDiscoveries {
                let id = component.id
                let (logger, health, resolver, components) = (self.logger, self.health, self.resolver, self.components)
                group.addTask {
                    let updates = component.discovery.updates(resolver: resolver) { errors in
                        let reason = errors.isEmpty ? nil : errors.map(\.description).joined(separator: "; ")
                        health.refreshed(id.description, error: reason, failures: errors.count)
                        components?.setHealth(
                            id, reason == nil ? .healthy : .unhealthy,
                            message: reason.map { "lookups failed; keeping their previous targets: \($0)" }
                                ?? "resolved")
                        for error in errors {
                            logger.warning(
                                "discovery.dns lookup failed; keeping the name's previous targets",
                                metadata: ["component": "\(id)", "error": "\(error)"])
                        }
                    }
                    for await targets in updates { await publish(id, targets, into: discovered) }
                }
            }
            for component in config.httpDiscoveries {
                let id = component.id
                let (logger, health, components) = (self.logger, self.health, self.components)
                let pool = self.pool ?? HTTPScraper.makePool()
                let credentials = HTTPClientCredentials(settings: component.http, owner: id.description)
                let report: @Sendable (HTTPDiscoveryError?) -> Void = Self.refreshReporter(
                    id, kind: "discovery.http", health: health, components: components, logger: logger)
                group.addTask {
                    let updates = component.discovery.updates(pool: pool, credentials: credentials, onRefresh: report)
                    for await targets in updates { await publish(id, targets, into: discovered) }
                    if self.pool == nil { try? await pool.shutdown() }
                }
            }
            for component in config.dockerDiscoveries {
                let id = component.id
                let (logger, health, components) = (self.logger, self.health, self.components)
                let pool = self.pool ?? HTTPScraper.makePool()
                let credentials = HTTPClientCredentials(settings: component.http, owner: id.description)
                let report: @Sendable (DockerDiscoveryError?) -> Void = Self.refreshReporter(
                    id, kind: "discovery.docker", health: health, components: components, logger: logger)
                group.addTask {
                    let updates = component.discovery.updates(pool: pool, credentials: credentials, onRefresh: report)
                    for await targets in updates { await publish(id, targets, into: discovered) }
                    if self.pool == nil { try? await pool.shutdown() }
                }
            }
        }
    }

    /// What a refreshing discovery (`discovery.http`, `discovery.docker`) does with the outcome of
    /// each refresh: its health, its component's state, and a warning when it failed.
    static func refreshReporter<Failure: Error & CustomStringConvertible>(
        _ id: ComponentID, kind: String, health: DiscoveryHealth, components: ComponentRegistry?, logger: Logger
    ) -> @Sendable (Failure?) -> Void {
        { error in
            health.refreshed(id.description, error: error.map(\.description))
            components?.setHealth(
                id, error == nil ? .healthy : .unhealthy,
                message: error.map { "refresh failed; keeping the previous targets: \($0)" } ?? "refreshed")
            if let error {
                logger.warning(
                    "\(kind) refresh failed; keeping the previous targets",
                    metadata: ["component": "\(id)", "error": "\(error)"])
            }
        }
    }

    private func publish(_ id: ComponentID, _ targets: [[String: String]], into discovered: DiscoveredTargets) async {
        health.targets(id.description, count: targets.count)
        discovered.set(id, targets)
    }

    private func apply(_ discovered: [ComponentID: [[String: String]]]) async {
        components?.discovered(discovered)
        var clustered: [ClusterService.Target] = []
        var jobs: [(String, ScrapeSettings, [ScrapeTarget])] = []
        for component in config.scrapes {
            let labels = component.targets.resolve { discovered[$0] ?? [] }
            var settings = Self.settings(for: component, in: config)
            if component.clusteringEnabled, let cluster {
                settings.ownerSeries = cluster.name
                settings.hashLabels = component.clusteringHashLabels
                settings.replicas = component.clusteringReplicas
            }
            let targets = ScrapeService.targets(discovered: labels, settings: settings)
            if component.clusteringEnabled {
                let balance = ClusterService.balance(named: component.clusteringBalance)
                clustered += targets.map {
                    ($0.ownerKey, $0.ownerLabels, settings.interval, settings.replicas, balance)
                }
            }
            jobs.append((component.id.description, settings, targets))
        }
        // The cluster learns the targets first, so the loops' first slots already have owners.
        await cluster?.setTargets(clustered)
        for (job, settings, targets) in jobs {
            await manager.update(job: job, settings: settings, targets: targets)
        }
    }
}

/// The latest targets of every run-time discovery component.
private final class DiscoveredTargets: Sendable {
    private let state = Mutex<[ComponentID: [[String: String]]]>([:])
    private let pictures: AsyncStream<[ComponentID: [[String: String]]]>.Continuation

    init(publishing pictures: AsyncStream<[ComponentID: [[String: String]]]>.Continuation) {
        self.pictures = pictures
    }

    /// Records `targets` for `id` and publishes the whole picture (under the lock, so pictures
    /// are published in the order they were made).
    func set(_ id: ComponentID, _ targets: [[String: String]]) {
        state.withLock {
            $0[id] = targets
            pictures.yield($0)
        }
    }
}
