import AsyncHTTPClient
import Config
import Events
import Foundation
import Logging
import Replay
import Synchronization
import WAL

/// The agent's output side: one forwarder per remote-write endpoint, the SQLite
/// projections kept up with the log, and WAL retention that respects both.
final class OutputServices: Sendable {
    let forwarders: [Forwarder]
    let store: ProjectionStore
    private let log: EventLog
    private let paths: StoragePaths
    private let retention: Retention
    private let logger: Logger
    private let projected = Mutex<Position?>(nil)
    let droppedSegments = Mutex<Int>(0)

    init(config: AgentConfig, log: EventLog, paths: StoragePaths, httpClient: HTTPClient, logger: Logger) throws {
        self.log = log
        self.paths = paths
        self.logger = logger
        store = try ProjectionStore.open(path: paths.index)
        var forwarders: [Forwarder] = []
        for component in config.remoteWrites {
            let external = component.externalLabels.sorted { $0.key < $1.key }.map {
                RemoteWriteLabel(name: $0.key, value: $0.value)
            }
            for endpoint in component.endpoints {
                let authorization: RemoteWriteEndpoint.Authorization? =
                    endpoint.bearerToken.map { .bearer(token: $0) }
                    ?? endpoint.basicAuth.map { .basic(username: $0.username, password: $0.password) }
                let client = try RemoteWriteClient(
                    endpoint: RemoteWriteEndpoint(
                        name: endpoint.name, url: endpoint.url, headers: endpoint.headers, authorization: authorization,
                        userAgent: "agentd/0.1.0", remoteTimeout: endpoint.remoteTimeout,
                        retryOnHTTP429: endpoint.queue.retryOnHTTP429, minBackoff: endpoint.queue.minBackoff,
                        maxBackoff: endpoint.queue.maxBackoff),
                    httpClient: httpClient, logger: Logger(label: "agentd.remote_write"))
                let queue = RemoteWriteQueue(
                    client: client,
                    configuration: .init(
                        shards: max(1, min(endpoint.queue.maxShards, 4)),
                        capacity: max(endpoint.queue.capacity, endpoint.queue.maxSamplesPerSend),
                        maxSamplesPerSend: endpoint.queue.maxSamplesPerSend,
                        batchSendDeadline: endpoint.queue.batchSendDeadline),
                    externalLabels: external, logger: Logger(label: "agentd.remote_write"))
                forwarders.append(
                    Forwarder(
                        name: endpoint.name, log: log, queue: queue, store: store,
                        logger: Logger(label: "agentd.remote_write")))
            }
        }
        self.forwarders = forwarders
        let wal = config.remoteWrites.first?.wal ?? .init()
        retention = Retention(minAge: wal.minKeepaliveTime, maxAge: wal.maxKeepaliveTime)
    }

    /// Runs the forwarders, the projector and retention until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for forwarder in forwarders {
                group.addTask {
                    do {
                        try await forwarder.run()
                    } catch is CancellationError {
                    } catch {
                        self.logger.error(
                            "Remote write forwarding stopped",
                            metadata: ["remote_write.endpoint": "\(forwarder.name)", "error": "\(error)"])
                    }
                    try? forwarder.saveCursor()
                }
            }
            group.addTask { await self.project() }
            group.addTask { await self.retain() }
        }
    }

    /// Keeps the projections up with the live log, flushing about once a second.
    private func project() async {
        do {
            let caughtUp = try Projector.catchUp(store: store, walDirectory: paths.wal)
            var projector = try Projector(resumingFrom: store, segment: caughtUp.segment)
            var tailer = LiveTailer(writer: log.writer, from: caughtUp)
            var lastFlush = ContinuousClock.now
            while let record = try await tailer.next() {
                try projector.add(record)
                if ContinuousClock.now - lastFlush > .seconds(1) || projector.pending > 5_000 {
                    try projector.flush(into: store)
                    projected.withLock { $0 = record.end }
                    lastFlush = .now
                }
            }
            try projector.flush(into: store)
        } catch is CancellationError {
        } catch {
            logger.error("The SQLite projections stopped following the WAL", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes segments every reader has passed (and, past the maximum age, those it has not, counted).
    private func retain() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                return
            }
            var cursors = forwarders.map { $0.committed ?? .start(of: 0) }
            cursors.append(projected.withLock { $0 } ?? .start(of: 0))
            do {
                let outcome = try retention.apply(
                    directory: paths.wal, cursors: cursors, current: log.writer.end.segment, logger: logger)
                // The histories in SQLite outlive the segments they came from: they are the audit trail.
                if !outcome.dropped.isEmpty { droppedSegments.withLock { $0 += outcome.dropped.count } }
            } catch {
                logger.error("WAL retention failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Delivery state per endpoint, for `/metrics`.
    var remoteWriteMetrics: [(String, RemoteWriteMetrics)] { forwarders.map { ($0.name, $0.queue.metrics) } }
}
