import AsyncHTTPClient
import Config
import Events
import Foundation
import Hummingbird
import Logging
import Replay
import Scrape
import ServiceLifecycle
import Synchronization
import WAL

/// `agentd run`: the daemon. Opens the WAL, starts discovery and the scrape loops,
/// serves the HTTP API, and shuts down in order on a graceful shutdown (SIGTERM or
/// SIGINT through the service group).
///
/// One service, not one per part: the shutdown order matters and is not the reverse of the
/// start order — the member hands its targets off while scraping and gossip go on, then
/// scraping stops, the WAL is flushed, the forwarders are given a moment, and the HTTP
/// server, which carries the gossip, goes last.
public struct Agent: Service {
    public let options: AgentOptions
    public let logger: Logger

    public init(options: AgentOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// The node name: `--cluster.node-name`, else the hostname.
    var nodeName: String { options.cluster.nodeName ?? ProcessInfo.processInfo.hostName }

    static func syncPolicy(_ text: String) throws -> SyncPolicy {
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

    public func run() async throws {
        let context = EvaluationContext.current(nodeName: nodeName)
        guard FileManager.default.isReadableFile(atPath: options.configPath) else {
            throw AgentError("\(options.configPath): cannot read the configuration file (missing or unreadable)")
        }
        let config: AgentConfig
        do {
            config = try AgentConfig.load(path: options.configPath, context: context)
        } catch {
            throw AgentError("\(error)")
        }
        try FileManager.default.createDirectory(atPath: options.storagePath, withIntermediateDirectories: true)
        let log: EventLog
        do {
            log = try EventLog(
                directory: options.storagePath + "/wal",
                options: .init(segmentSize: options.walSegmentSize, sync: try Self.syncPolicy(options.walSync)),
                logger: logger)
        } catch WALError.locked(let path) {
            throw AgentError("another agentd is already using \(path) (--storage.path=\(options.storagePath))")
        }
        logger.info(
            "WAL open",
            metadata: ["wal.path": "\(options.storagePath)/wal", "wal.segment": "\(log.writer.end.segment)"])

        let client = HTTPScraper.makeClient()
        let paths = StoragePaths(options.storagePath)
        let outputs = try OutputServices(config: config, log: log, paths: paths, httpClient: client, logger: logger)
        let metrics = AgentMetrics(nodeName: nodeName)
        let advertise = options.cluster.advertiseAddress ?? options.listenAddress
        let cluster: ClusterService? =
            options.cluster.enabled
            ? try ClusterService(
                options: options.cluster, name: nodeName, address: advertise, log: log, client: client,
                logger: Logger(label: "agentd.cluster"))
            : nil
        let oracle: any OwnershipOracle = cluster ?? OwnEverything(name: nodeName)
        let board = TargetStatusBoard()
        let throughput = ThroughputMeter()
        let manager = ScrapeService(
            appender: log, scraper: HTTPScraper(client: client), oracle: oracle, observers: [board, throughput],
            logger: Logger(label: "agentd.scrape"))
        let state = AgentState(config: config, nodeName: nodeName, advertise: advertise)
        let reloader = ConfigReloader(
            path: options.configPath, context: context, config: config, manager: manager, cluster: cluster,
            logger: logger)
        let api = APIController(
            state: state, board: board, metrics: metrics, log: log, outputs: outputs, cluster: cluster,
            oracle: oracle, reloader: reloader)
        let (host, port) = try Self.split(options.listenAddress)
        let router = Router(context: AgentRequestContext.self)
        api.addRoutes(to: router)
        WebUIController(
            state: state, board: board, throughput: throughput, cluster: cluster, oracle: oracle,
            store: outputs.store
        ).addRoutes(to: router)
        let (listening, listeningContinuation) = AsyncStream.makeStream(of: Void.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "agentd"),
            onServerRunning: { _ in listeningContinuation.finish() },
            logger: Logger(label: "agentd.http"))

        let (stops, stop) = AsyncStream.makeStream(of: String.self)
        // SIGTERM and SIGINT reach this service as a graceful shutdown (swift-service-lifecycle);
        // SIGHUP is a reload.
        let signals = Task {
            for await _ in Signals.stream([SIGHUP]) { _ = await reloader.reload() }
        }
        // Detached: the server must not stop with the graceful shutdown, since the hand-off
        // still gossips over it; it is stopped last, below.
        // The server runs in a service group of its own, stopped by a graceful shutdown at the
        // end (cancelling it would log an error on every clean stop).
        let serverGroup = ServiceGroup(
            configuration: .init(services: [.init(service: app)], logger: Logger(label: "agentd.http")))
        let server = Task.detached {
            do {
                try await serverGroup.run()
            } catch {
                logger.error(
                    "The HTTP server failed",
                    metadata: ["http.address": "\(options.listenAddress)", "error": "\(error)"])
                stop.yield("HTTP server failure")
                listeningContinuation.finish()
            }
        }
        // Gossip runs over the HTTP port: join only once it listens (or give up if it cannot).
        for await _ in listening {}
        let output = Task { await outputs.run() }
        let membership = Task { await cluster?.run() }
        // Detached: scraping must not stop with the graceful shutdown, since the hand-off scrapes
        // until its slot; it is cancelled (every loop stopped quietly) after the hand-off, below.
        let scraping = Task.detached { await manager.run() }
        reloader.start()
        state.setReady(true)
        logger.info("agentd is running", metadata: ["http.address": "\(options.listenAddress)", "node": "\(nodeName)"])
        var reason = "end of signals"
        await withGracefulShutdownHandler {
            for await why in stops {
                reason = why
                break
            }
        } onGracefulShutdown: {
            stop.yield("graceful shutdown (SIGTERM or SIGINT)")
        }
        logger.info("Shutting down", metadata: ["reason": "\(reason)"])
        state.setReady(false)
        if let cluster {
            // Hand the targets off at the agreed slot: keep scraping until then.
            await cluster.leave(limit: .seconds(15))
        }
        await reloader.stop()
        scraping.cancel()
        await scraping.value
        membership.cancel()
        await membership.value
        // Nothing appends any more: close the log (synced), and let the forwarders send what it
        // holds, up to its end, within the flush deadline; their cursors cover the rest.
        try log.close()
        logger.info("WAL flushed and closed")
        await outputs.drain(within: options.remoteFlushDeadline)
        output.cancel()
        await output.value
        await serverGroup.triggerGracefulShutdown()
        await server.value
        signals.cancel()
        if reason == "HTTP server failure" {
            try? await client.shutdown()
            throw AgentError("could not serve HTTP on \(options.listenAddress)")
        }
        try await client.shutdown()
    }

    static func split(_ address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw AgentError("expected host:port, got \"\(address)\"")
        }
        return (String(address[..<colon]), port)
    }
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

/// What the API shows that is not owned by another component.
final class AgentState: Sendable {
    let config: AgentConfig
    let nodeName: String
    let advertise: String
    private let ready = Mutex(false)

    init(config: AgentConfig, nodeName: String, advertise: String) {
        self.config = config
        self.nodeName = nodeName
        self.advertise = advertise
    }

    var isReady: Bool { ready.withLock { $0 } }
    func setReady(_ value: Bool) { ready.withLock { $0 = value } }
}
