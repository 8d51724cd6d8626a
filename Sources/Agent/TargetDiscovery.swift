import Config
import Events
import Logging
import Scrape
import Synchronization

/// Feeds every `prometheus.scrape` component its targets: static lists at once,
/// `discovery.file` outputs whenever a file changes, each through the
/// `discovery.relabel` rules between them.
struct TargetDiscovery: Sendable {
    let config: AgentConfig
    let manager: ScrapeService
    let cluster: ClusterService?
    let logger: Logger
    /// Told the targets each discovery component found, and whether its files could be read.
    var components: ComponentRegistry? = nil

    /// The settings a scrape component gives its loops, with the route of its `forward_to`.
    static func settings(for component: ScrapeComponent, in config: AgentConfig) -> ScrapeSettings {
        ScrapeSettings(
            jobName: component.jobName, interval: component.scrapeInterval, timeout: component.scrapeTimeout,
            metricsPath: component.metricsPath, scheme: component.scheme, params: component.params,
            honorLabels: component.honorLabels, honorTimestamps: component.honorTimestamps,
            sampleLimit: component.sampleLimit, bodySizeLimit: Int(component.bodySizeLimit),
            labelLimit: component.labelLimit, labelNameLengthLimit: component.labelNameLengthLimit,
            labelValueLengthLimit: component.labelValueLengthLimit, http: component.http,
            pipelines: pipelines(component.forwardTo, in: config))
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
        let discovered = DiscoveredTargets()
        await apply([:])
        guard !config.files.isEmpty else {
            // Nothing dynamic: stay alive until cancelled.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        await withTaskGroup(of: Void.self) { group in
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
                let logger = self.logger
                let components = self.components
                group.addTask {
                    let updates = discovery.updates(interval: .seconds(1)) { error in
                        logger.warning(
                            "discovery.file could not read a file; keeping its previous targets",
                            metadata: ["error": "\(error)"])
                        components?.setHealth(
                            id, .unhealthy, message: "could not read a file; keeping the previous targets: \(error)")
                    }
                    for await targets in updates {
                        components?.setHealth(id, .healthy, message: ComponentRegistry.count(targets.count, "target"))
                        let snapshot = discovered.set(id, targets)
                        await apply(snapshot)
                    }
                }
            }
        }
    }

    private func apply(_ discovered: [ComponentID: [[String: String]]]) async {
        components?.discovered(discovered)
        var clustered: [(key: UInt64, labels: Labels, interval: Duration)] = []
        var jobs: [(String, ScrapeSettings, [ScrapeTarget])] = []
        for component in config.scrapes {
            let labels = component.targets.resolve { discovered[$0] ?? [] }
            let settings = Self.settings(for: component, in: config)
            let targets = ScrapeService.targets(discovered: labels, settings: settings)
            if component.clusteringEnabled {
                clustered += targets.map { ($0.key, $0.discovered, settings.interval) }
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

/// The latest targets of every `discovery.file` component.
private final class DiscoveredTargets: Sendable {
    private let state = Mutex<[ComponentID: [[String: String]]]>([:])

    /// Records `targets` for `id` and returns the whole picture.
    func set(_ id: ComponentID, _ targets: [[String: String]]) -> [ComponentID: [[String: String]]] {
        state.withLock {
            $0[id] = targets
            return $0
        }
    }
}
