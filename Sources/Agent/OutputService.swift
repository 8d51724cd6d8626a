import AsyncHTTPClient
import Config
import Events
import Foundation
import HTTPSecurity
import Logging
import Projections
import RemoteWrite
import Scrape
import ServiceLifecycle
import Synchronization
import WAL

/// What reads the WAL: one forwarder per remote-write endpoint, the SQLite projections kept up
/// with the log, and WAL retention that respects both. On a graceful shutdown (after the WAL
/// service closed the log) the forwarders send what the log holds, within the flush deadline.
final class OutputService: Service, Sendable {
    let forwarders: [Forwarder]
    let store: ProjectionStore
    /// The remote-write HTTP clients, by shape (`server_name`, proxy, redirects, HTTP/2); shut
    /// down once the forwarders have stopped.
    private let pool: HTTPClientPool
    private let log: EventLog
    private let paths: StoragePaths
    private let retention: Retention
    private let logger: Logger
    private let flushDeadline: Duration
    private let projected = Mutex<Position?>(nil)
    let droppedSegments = Mutex<Int>(0)
    /// The end of what the WAL held when the agent started (nil: nothing): readiness waits until
    /// every endpoint has delivered up to it.
    private let startMark: Position?
    /// Set once every endpoint had delivered the WAL written before this start.
    private let caughtUp = Mutex(false)
    /// Retention passes that deleted segments, and those that failed (Prometheus's WAL truncations).
    let truncations = Mutex<(done: Int, failed: Int)>((0, 0))
    /// Finished when the forwarder of the same index stops (drained, cancelled or failed).
    private let stopped: [(stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)]
    /// By forwarder: whether it delivered the closed log to its end.
    private let drained: Mutex<[Bool]>

    init(config: AgentConfig, log: EventLog, paths: StoragePaths, flushDeadline: Duration, logger: Logger) throws {
        startMark = Self.endBeforeStart(directory: paths.wal, current: log.writer.end.segment)
        let pool = RemoteWriteClient.makePool()
        self.pool = pool
        self.log = log
        self.paths = paths
        self.flushDeadline = flushDeadline
        self.logger = logger
        let store = try ProjectionStore.open(path: paths.index)
        self.store = store
        var forwarders: [Forwarder] = []
        for component in config.remoteWrites {
            let external = component.externalLabels.sorted { $0.key < $1.key }.map {
                RemoteWriteLabel(name: $0.key, value: $0.value)
            }
            for endpoint in component.endpoints {
                let remoteLogger = Logger(label: "agentd.remote_write")
                // Credential errors name the component; a default endpoint name already does.
                let owner =
                    endpoint.name.hasPrefix("\(component.id).")
                    ? "endpoint \(endpoint.name)" : "\(component.id) endpoint \(endpoint.name)"
                let client = try RemoteWriteClient(
                    endpoint: RemoteWriteEndpoint(
                        name: endpoint.name, url: endpoint.url, headers: endpoint.headers, http: endpoint.http,
                        userAgent: "agentd/0.1.0", remoteTimeout: endpoint.remoteTimeout,
                        retryOnHTTP429: endpoint.queue.retryOnHTTP429, minBackoff: endpoint.queue.minBackoff,
                        maxBackoff: endpoint.queue.maxBackoff),
                    pool: pool, owner: owner, logger: remoteLogger)
                let cursor = try DeliveryCursorFile(
                    path: DeliveryCursorFile.path(root: paths.root, endpoint: endpoint.name))
                let queue = RemoteWriteQueue(
                    client: client,
                    configuration: .init(
                        shards: max(1, min(endpoint.queue.maxShards, 4)),
                        capacity: max(endpoint.queue.capacity, endpoint.queue.maxSamplesPerSend),
                        maxSamplesPerSend: endpoint.queue.maxSamplesPerSend,
                        batchSendDeadline: endpoint.queue.batchSendDeadline),
                    externalLabels: external,
                    resuming: Forwarder.storedProgress(
                        file: cursor,
                        legacyCursor: {
                            guard let cursor = try? store.replayCursor(named: endpoint.name) else { return nil }
                            return Position(segment: Int(cursor.segment), offset: Int(cursor.offset))
                        },
                        name: endpoint.name, logger: remoteLogger),
                    logger: remoteLogger, progressStore: cursor)
                forwarders.append(
                    Forwarder(
                        name: endpoint.name, receiver: component.id.label,
                        writeRelabel: writeRelabelling(endpoint.writeRelabelRules), log: log, queue: queue,
                        logger: remoteLogger))
            }
        }
        self.forwarders = forwarders
        stopped = forwarders.map { _ in AsyncStream.makeStream(of: Void.self) }
        drained = Mutex(forwarders.map { _ in false })
        let wal = config.remoteWrites.first?.wal ?? .init()
        retention = Retention(minAge: wal.minKeepaliveTime, maxAge: wal.maxKeepaliveTime)
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            do {
                try await gracefulShutdown()
                await drain(within: flushDeadline)
            } catch {
                // Cancelled: the group is failing; what is not delivered is sent at the next start.
            }
            group.cancelAll()
        }
        do {
            try await pool.shutdown()
        } catch {
            logger.warning("Could not shut the remote write HTTP clients down", metadata: ["error": "\(error)"])
        }
    }

    /// Runs the forwarders, the projector and retention until cancelled. Once the log is
    /// closed, the forwarders drain it (see `drain(within:)`) and the projector catches up.
    private func follow() async {
        await withTaskGroup(of: Void.self) { group in
            for (index, forwarder) in forwarders.enumerated() {
                group.addTask {
                    do {
                        try await forwarder.run()
                        // It returns by itself only once the closed log is delivered to its end.
                        if !Task.isCancelled { self.drained.withLock { $0[index] = true } }
                    } catch is CancellationError {
                    } catch {
                        self.logger.error(
                            "Remote write forwarding stopped",
                            metadata: ["remote_write.endpoint": "\(forwarder.name)", "error": "\(error)"])
                    }
                    self.stopped[index].continuation.finish()
                }
            }
            group.addTask { await self.project() }
            group.addTask { await self.retain() }
        }
    }

    /// After the log was closed: waits up to `limit` for every forwarder to deliver what the
    /// log holds, then logs what did not fit (it is sent at the next start).
    private func drain(within limit: Duration) async {
        guard !forwarders.isEmpty else { return }
        let end = log.writer.end
        logger.info(
            "Draining remote write",
            metadata: ["wal.end": "\(end)", "remote_write.flush_deadline": "\(limit)"])
        await withTimeLimit(limit) {
            for entry in self.stopped {
                for await _ in entry.stream {}
            }
        }
        let done = drained.withLock { $0 }
        for (index, forwarder) in forwarders.enumerated() {
            let committed = forwarder.committed
            let pending = forwarder.queue.metrics.pendingSamples
            guard !done[index] else {
                logger.info(
                    "Remote write drained",
                    metadata: ["remote_write.endpoint": "\(forwarder.name)", "remote_write.cursor": "\(end)"])
                continue
            }
            logger.warning(
                "remote write did not drain before the flush deadline; the rest is sent at the next start",
                metadata: [
                    "remote_write.endpoint": "\(forwarder.name)", "remote_write.samples_pending": "\(pending)",
                    "remote_write.cursor": "\(committed.map { "\($0)" } ?? "none")", "wal.end": "\(end)",
                    "remote_write.wal_backlog_bytes": "\(backlogBytes(from: committed))",
                ])
        }
    }

    /// The endpoints that have not yet delivered what the WAL held when the agent started (empty
    /// once all have: from then on, later outages do not make the agent unready).
    var endpointsBehindStart: [String] {
        if caughtUp.withLock({ $0 }) { return [] }
        guard let startMark else {
            caughtUp.withLock { $0 = true }
            return []
        }
        let behind = forwarders.filter { forwarder in
            guard let committed = forwarder.committed else { return true }
            return committed < startMark
        }.map(\.name)
        if behind.isEmpty { caughtUp.withLock { $0 = true } }
        return behind
    }

    /// The end of the newest segment before `current` (the one the writer opened), if any holds a record.
    static func endBeforeStart(directory: String, current: Int) -> Position? {
        guard let previous = (try? SegmentName.list(in: directory))?.last(where: { $0 < current }) else { return nil }
        let attributes = try? FileManager.default.attributesOfItem(atPath: SegmentName.path(previous, in: directory))
        guard let size = attributes?[.size] as? Int, size > SegmentHeader.size else { return nil }
        return Position(segment: previous, offset: size)
    }

    /// WAL bytes from `position` to the end of the log: what a forwarder still has to read.
    func backlogBytes(from position: Position?) -> Int {
        let end = log.writer.end
        let start = position ?? .start(of: 0)
        guard start < end else { return 0 }
        guard let segments = try? SegmentName.list(in: paths.wal) else { return 0 }
        var bytes = 0
        for segment in segments where segment >= start.segment {
            let size =
                segment == end.segment
                ? end.offset
                : ((try? FileManager.default.attributesOfItem(atPath: SegmentName.path(segment, in: paths.wal))[.size])
                    as? Int ?? 0)
            bytes += max(0, size - (segment == start.segment ? start.offset : SegmentHeader.size))
        }
        return bytes
    }

    /// Keeps the projections up with the live log, flushing about once a second.
    private func project() async {
        var failingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            do {
                try await followLog()
                return
            } catch is CancellationError {
                return
            } catch {
                // A full disk, say: SQLite cannot write. Try again from where the index stopped.
                if failingSince == nil {
                    failingSince = .now
                    logger.error(
                        "The SQLite projections cannot follow the WAL; retrying every 5 s",
                        metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: .seconds(5))
                } catch {
                    return
                }
            }
        }
    }

    /// Catches the projections up with the log and follows it until the log is closed.
    private func followLog() async throws {
        let caughtUp = try Projector.catchUp(store: store, walDirectory: paths.wal)
        projected.withLock { $0 = caughtUp }
        var projector = try Projector(resumingFrom: store, segment: caughtUp.segment)
        var tailer = LiveTailer(writer: log.writer, from: caughtUp)
        var lastFlush = ContinuousClock.now
        var skipped = 0
        while let record = try await tailer.next() {
            try projector.add(record)
            for error in projector.skipped.dropFirst(skipped) {
                logger.warning(
                    "The SQLite projections skipped a WAL record that does not decode",
                    metadata: ["wal.position": "\(error.position)", "error": "\(error)"])
            }
            skipped = projector.skipped.count
            if ContinuousClock.now - lastFlush > .seconds(1) || projector.pending > 5_000 {
                try projector.flush(into: store)
                projected.withLock { $0 = record.end }
                lastFlush = .now
            }
        }
        try projector.flush(into: store)
    }

    /// Deletes segments every reader has passed (and, past the maximum age, those it has not, counted).
    private func retain() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                return
            }
            // SQLite's own WAL (index.sqlite-wal) is checkpointed here, so it does not grow with the agent's uptime.
            do {
                try store.checkpoint()
            } catch {
                logger.warning("Could not checkpoint the SQLite index", metadata: ["error": "\(error)"])
            }
            var cursors = forwarders.map { $0.committed ?? .start(of: 0) }
            cursors.append(projected.withLock { $0 } ?? .start(of: 0))
            do {
                let outcome = try retention.apply(
                    directory: paths.wal, cursors: cursors, current: log.writer.end.segment, logger: logger)
                // The histories in SQLite outlive the segments they came from: they are the audit trail.
                if !outcome.dropped.isEmpty { droppedSegments.withLock { $0 += outcome.dropped.count } }
                if !outcome.deleted.isEmpty || !outcome.dropped.isEmpty { truncations.withLock { $0.done += 1 } }
            } catch {
                truncations.withLock { $0.failed += 1 }
                logger.error("WAL retention failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The counters of the endpoint named `name`, for the web UI's graph.
    func remoteWriteCounters(_ name: String) -> RemoteWriteMetrics? {
        forwarders.first { $0.name == name }?.queue.metrics
    }

    /// Delivery state per endpoint, for `/metrics`.
    var remoteWriteMetrics: [SelfMetrics.RemoteWriteEndpointReading] {
        forwarders.map { forwarder in
            SelfMetrics.RemoteWriteEndpointReading(
                name: forwarder.name, url: forwarder.queue.endpointURL, metrics: forwarder.queue.metrics,
                damage: forwarder.passedOver, backlogBytes: backlogBytes(from: forwarder.committed),
                configuration: forwarder.queue.configuration)
        }
    }
}
