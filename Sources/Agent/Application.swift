import AsyncHTTPClient
import Config
import Events
import Foundation
import HTTPSecurity
import Hummingbird
import Logging
import Scrape
import ServiceLifecycle
import UnixSignals
import WAL

/// `agentd run`: the daemon as a service group. The services are listed in dependency order, so
/// the group starts them together and shuts them down one by one in reverse (SIGTERM or SIGINT):
/// readiness drops, discovery stops, the member hands its targets off at the agreed slot while it
/// still scrapes and gossips, scraping stops, the WAL is synced and closed, the forwarders send
/// what it holds within the flush deadline, and the HTTP server (which carries the gossip) and
/// the HTTP client go last.
public func buildApplication(options: AgentOptions, logger: Logger) throws -> ServiceGroup {
    let parts = try AgentParts(options: options, logger: logger)
    return ServiceGroup(
        configuration: .init(
            services: parts.services.map { .init(service: $0, successTerminationBehavior: .ignore) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}

/// The agent's parts, wired: the services `buildApplication` runs, and what tests drive in process
/// (the router, the readiness state, the log).
struct AgentParts {
    let services: [any Service]
    let router: Router<AgentRequestContext>
    let state: AgentState
    let log: EventLog
    let client: HTTPClient
}

extension AgentParts {
    init(options: AgentOptions, logger: Logger) throws {
        let nodeName = options.cluster.nodeName ?? ProcessInfo.processInfo.hostName
        let context = EvaluationContext.current(nodeName: nodeName)
        let config = try loadConfiguration(options, context: context)
        // TLS files are read before anything that needs shutting down is made.
        let clusterTLS = try ClusterTLS(options.cluster)
        let serverTLS = try serverTLS(
            config: config.serverTLS, cluster: clusterTLS, clustering: options.cluster.enabled
        )
        .map { tls in try serverTLSContext(tls.0, owner: tls.owner) }
        let log = try openLog(options, logger: logger)
        let client = HTTPScraper.makeClient()
        // A part that fails to assemble must not leave the client running (a debug build traps on it).
        var assembled = false
        defer { if !assembled { _ = client.shutdown() } }
        let scrapeClients = HTTPScraper.makePool()
        let outputs = try OutputService(
            config: config, log: log, paths: StoragePaths(options.storagePath),
            flushDeadline: options.remoteFlushDeadline, logger: logger)
        let advertise = AdvertiseAddress.choose(options: options, logger: logger)
        let listening = ListeningSignal()
        let cluster =
            options.cluster.enabled
            ? try ClusterService(
                options: options.cluster, name: nodeName, address: advertise, log: log, client: client,
                logger: Logger(label: "agentd.cluster"), tls: clusterTLS?.client,
                defaultPort: Int(options.listenAddress.split(separator: ":").last ?? "") ?? 12345,
                listening: { _ = await listening.wait() })
            : nil
        let oracle: any OwnershipOracle = cluster ?? OwnEverything(name: nodeName)
        let board = TargetStatusBoard()
        let throughput = ThroughputMeter()
        let components = ComponentRegistry(
            config: config, board: board, appended: ComponentSampleCounter(),
            remoteWrite: { [outputs] in outputs.remoteWriteCounters($0) })
        let scraping = ScrapeService(
            appender: log, scraper: HTTPScraper(pool: scrapeClients), oracle: oracle,
            observers: [board, throughput, components.appended] + (cluster.map { [$0] } ?? []),
            logger: Logger(label: "agentd.scrape"))
        let state = AgentState(config: config, nodeName: nodeName, advertise: advertise)
        let configuration = ConfigService(
            path: options.configPath, context: context, config: config, manager: scraping, cluster: cluster,
            components: components, logger: logger, pool: scrapeClients)
        let router = buildRouter(
            APIController(
                state: state, board: board, metrics: SelfMetrics(nodeName: nodeName), log: log, outputs: outputs,
                cluster: cluster, oracle: oracle, reloader: configuration, tlsFailures: serverTLS?.failures),
            WebUIController(
                state: state, board: board, throughput: throughput, cluster: cluster, oracle: oracle,
                store: outputs.store),
            ComponentsController(registry: components))
        let server = try HTTPServerService(
            router: router, address: options.listenAddress, listening: listening, tls: serverTLS)
        var services: [any Service] = [
            HTTPClientService(client: client), HTTPClientPoolService(pool: scrapeClients), server, outputs,
            WALService(log: log, logger: logger),
        ]
        services.append(scraping)
        if let cluster { services.append(cluster) }
        services += [
            configuration,
            ReadinessService(state: state, listening: listening, address: options.listenAddress, logger: logger),
        ]
        assembled = true
        self.init(services: services, router: router, state: state, log: log, client: client)
    }
}

/// What the HTTP server serves: the config's `http { tls { … } }` when it has one (as in Alloy),
/// otherwise the cluster's certificate under `--cluster.enable-tls`, otherwise plain HTTP. Gossip
/// rides on this server, so the two must agree.
private func serverTLS(config: ServerTLSSettings?, cluster: ClusterTLS?, clustering: Bool) throws
    -> (ServerTLSSettings, owner: String)?
{
    guard let config else { return cluster.map { ($0.server, "--cluster.enable-tls") } }
    if clustering, cluster == nil {
        throw AgentError(
            "the http tls block serves HTTPS, and gossip rides on it: clustering then needs --cluster.enable-tls")
    }
    if cluster != nil, config.clientAuthentication == .none {
        throw AgentError(
            "--cluster.enable-tls needs the http tls block to verify client certificates: set client_ca_file and client_auth_type = \"VerifyClientCertIfGiven\" or \"RequireAndVerifyClientCert\""
        )
    }
    return (config, "http tls")
}

/// The server side of TLS: the files are read now (a server that cannot present its certificate
/// does not start) and again whenever they change.
private func serverTLSContext(_ settings: ServerTLSSettings, owner: String) throws -> HTTPServerService.TLS {
    let http = Logger(label: "agentd.http")
    do {
        let context = try ServerTLSContext(settings: settings, owner: owner) { failure in
            http.error(
                "Could not load the renewed TLS certificate; serving the previous one",
                metadata: ["tls.reason": "\(failure)"])
        }
        return HTTPServerService.TLS(context: context, failures: TLSHandshakeFailures(logger: http))
    } catch {
        throw AgentError("\(error)")
    }
}

/// The agent's routes: the API (`/api/v0`, `/metrics`, `/-/ready`, gossip) and the web UI.
func buildRouter(_ api: APIController, _ ui: WebUIController, _ components: ComponentsController)
    -> Router<AgentRequestContext>
{
    let router = Router(context: AgentRequestContext.self)
    api.addRoutes(to: router)
    ui.addRoutes(to: router)
    components.addRoutes(to: router)
    return router
}

/// Reads and evaluates the configuration file, with errors that name the file.
func loadConfiguration(_ options: AgentOptions, context: EvaluationContext) throws -> AgentConfig {
    do {
        return try AgentConfig.load(path: options.configPath, context: context)
    } catch {
        throw AgentError("\(error)")
    }
}

/// Opens (and locks) the WAL under `--storage.path`.
func openLog(_ options: AgentOptions, logger: Logger) throws -> EventLog {
    try FileManager.default.createDirectory(atPath: options.storagePath, withIntermediateDirectories: true)
    let log: EventLog
    do {
        log = try EventLog(
            directory: options.storagePath + "/wal",
            options: .init(
                segmentSize: options.walSegmentSize, sync: try syncPolicy(options.walSync),
                syncDelay: try syncDelay(options.walSyncDelay)),
            logger: logger)
    } catch WALError.locked(let path) {
        throw AgentError("another agentd is already using \(path) (--storage.path=\(options.storagePath))")
    }
    logger.info(
        "WAL open", metadata: ["wal.path": "\(options.storagePath)/wal", "wal.segment": "\(log.writer.end.segment)"])
    return log
}

/// `--storage.wal-sync`: `batch`, `never` or an interval.
func syncPolicy(_ text: String) throws -> SyncPolicy {
    switch text {
    case "batch": return .batch
    case "never": return .never
    default:
        guard let duration = AlloyDuration.parse(text) else {
            throw AgentError("--storage.wal-sync must be batch, never or a duration such as 1s; got \"\(text)\"")
        }
        return .interval(duration)
    }
}

/// `--storage.wal-sync-delay`: a duration from 0s to 1s (a longer one would hold a scrape at
/// a 1 s interval past its next slot).
func syncDelay(_ text: String) throws -> Duration {
    guard let delay = AlloyDuration.parse(text), delay >= .zero, delay <= .seconds(1) else {
        throw AgentError("--storage.wal-sync-delay must be a duration from 0s to 1s such as 20ms; got \"\(text)\"")
    }
    return delay
}

/// Runs `work`, giving up on it after `limit`.
func withTimeLimit(_ limit: Duration, _ work: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await work() }
        group.addTask { try? await Task.sleep(for: limit) }
        await group.next()
        group.cancelAll()
    }
}

/// A startup or configuration error, printed as is.
public struct AgentError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
