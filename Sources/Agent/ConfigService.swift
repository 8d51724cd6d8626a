import Config
import HTTPSecurity
import Logging
import Scrape
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The running configuration: starts target discovery for it, and applies a new one on SIGHUP or
/// `POST /-/reload` (the scrape jobs and their discovery are replaced; a configuration that does
/// not load is reported and the running one is kept). On a graceful shutdown discovery stops first,
/// so no target changes while the member hands its targets off.
final class ConfigService: Service, Sendable {
    private let path: String
    private let context: EvaluationContext
    private let manager: ScrapeService
    private let cluster: ClusterService?
    private let components: ComponentRegistry?
    private let logger: Logger
    /// How the discovery components fare, for `/api/v0/discovery` and `/metrics`.
    let health: DiscoveryHealth
    /// The clients `discovery.http` and `discovery.docker` fetch with.
    private let pool: HTTPClientPool?
    private struct Running {
        var config: AgentConfig
        var discovery: Task<Void, Never>?
    }
    private let running: Mutex<Running>

    init(
        path: String, context: EvaluationContext, config: AgentConfig, manager: ScrapeService, cluster: ClusterService?,
        components: ComponentRegistry? = nil, logger: Logger, health: DiscoveryHealth = DiscoveryHealth(),
        pool: HTTPClientPool? = nil
    ) {
        self.health = health
        self.pool = pool
        self.path = path
        self.context = context
        self.manager = manager
        self.cluster = cluster
        self.components = components
        self.logger = logger
        running = Mutex(Running(config: config))
    }

    var config: AgentConfig { running.withLock { $0.config } }

    func run() async {
        start()
        for await _ in Signals.stream([SIGHUP]).cancelOnGracefulShutdown() { _ = await reload() }
        await stop()
    }

    /// Starts discovery for the current configuration.
    private func start() {
        let config = self.config
        let task = Task { [manager, cluster, components, logger, health, pool] in
            await TargetDiscovery(
                config: config, manager: manager, cluster: cluster, logger: logger, health: health, pool: pool,
                components: components
            ).run()
        }
        running.withLock { $0.discovery = task }
    }

    /// Re-reads the file. Returns nil on success, else the error (the running configuration stays).
    func reload() async -> String? {
        let next: AgentConfig
        do {
            next = try AgentConfig.load(path: path, context: context)
        } catch {
            logger.error("Reload failed; keeping the running configuration", metadata: ["error": "\(error)"])
            return "\(error)"
        }
        let (previous, old) = running.withLock { running in
            defer { running.config = next }
            return (running.config, running.discovery)
        }
        if previous.remoteWrites != next.remoteWrites {
            logger.warning("prometheus.remote_write changes take effect at the next restart")
        }
        old?.cancel()
        await old?.value
        await manager.retainJobs(Set(next.scrapes.map(\.id.description)))
        components?.configure(next)
        start()
        logger.info("Configuration reloaded", metadata: ["config.path": "\(path)"])
        return nil
    }

    private func stop() async {
        let task = running.withLock { $0.discovery }
        task?.cancel()
        await task?.value
    }
}
