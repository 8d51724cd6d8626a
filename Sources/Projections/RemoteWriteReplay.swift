import AsyncHTTPClient
import Events
import Foundation
import HTTPSecurity
import Logging
import RemoteWrite
import WAL

/// `agentd replay --to URL`: sends a window of the log to a remote-write receiver
/// in requests of up to 2,000 samples, and reports what the receiver refused.
public enum RemoteWriteReplay {
    public struct Report: Sendable {
        public var sentSamples = 0
        public var rejectedSamples = 0
        public var requests = 0
        /// The receiver's messages for refused requests, with how many samples each covered.
        public var rejections: [String: Int] = [:]
        /// Damage met in the WAL while reading the window (each costs the rest of its segment).
        public var problems: [CorruptionError] = []

        public var summary: String {
            var lines = [
                "sent \(sentSamples) samples in \(requests) requests; \(rejectedSamples) rejected by the receiver"
            ]
            for (message, count) in rejections.sorted(by: { $0.value > $1.value }) {
                lines.append("  \(count) samples rejected: \(message)")
            }
            for problem in problems { lines.append("  WAL damage at \(problem)") }
            return lines.joined(separator: "\n")
        }
    }

    /// Sends the window to `url`, without credentials.
    public static func send(
        window: ReplayWindow, walDirectory: String, store: ProjectionStore?, to url: String,
        batchSize: Int = 2_000, logger: Logger = Logger(label: "agentd.replay")
    ) async throws -> Report {
        try await send(
            window: window, walDirectory: walDirectory, store: store,
            to: RemoteWriteEndpoint(name: "replay", url: url, userAgent: "agentd/0.1.0"), batchSize: batchSize,
            logger: logger)
    }

    /// Sends the window to `endpoint`, with its TLS settings, credentials and headers (an
    /// endpoint of the agent's configuration). A 401 or 403 is not retried here: it is reported
    /// as a refusal, and a credential file that cannot be read ends the replay before anything
    /// is sent, with an error naming the file.
    public static func send(
        window: ReplayWindow, walDirectory: String, store: ProjectionStore?, to endpoint: RemoteWriteEndpoint,
        owner: String? = nil, batchSize: Int = 2_000, logger: Logger = Logger(label: "agentd.replay"),
        progress: ((Position) -> Void)? = nil
    ) async throws -> Report {
        var endpoint = endpoint
        endpoint.retryOnAuthorizationFailure = false
        let pool = RemoteWriteClient.makePool()
        do {
            let client = try RemoteWriteClient(endpoint: endpoint, pool: pool, owner: owner, logger: logger)
            try client.checkCredentials()
            let report = try await send(
                window: window, walDirectory: walDirectory, store: store, client: client, batchSize: batchSize,
                progress: progress)
            try await pool.shutdown()
            return report
        } catch {
            try? await pool.shutdown()
            throw error
        }
    }

    private static func send(
        window: ReplayWindow, walDirectory: String, store: ProjectionStore?, client: RemoteWriteClient,
        batchSize: Int, progress: ((Position) -> Void)?
    ) async throws -> Report {
        var samples = try window.samples(walDirectory: walDirectory, store: store)
        var report = Report()
        var sender = RemoteWriteSender(client: client, capacity: batchSize)
        var labelSets: [Int: RemoteWriteLabelSet] = [:]
        var entries: [RemoteWriteBatch.Entry] = []
        while true {
            // One request's worth at a time: the window is never held in memory.
            entries.removeAll(keepingCapacity: true)
            while entries.count < batchSize, let sample = try samples.next() {
                let set =
                    labelSets[sample.series]
                    ?? {
                        let made = RemoteWriteLabelSet(
                            sample.labels.map { RemoteWriteLabel(name: $0.name, value: $0.value) })
                        labelSets[sample.series] = made
                        return made
                    }()
                entries.append(.init(series: set, timestamp: sample.timestamp, value: sample.value))
            }
            guard !entries.isEmpty else { break }
            // Refused samples are isolated by splitting the request: the rest is delivered.
            let result = try await sender.deliver(entries)
            report.requests += result.requests
            report.sentSamples += result.accepted
            report.rejectedSamples += result.refused.count + result.dropped
            if let message = result.refusalMessage {
                for (_, refusal) in result.refused {
                    report.rejections["HTTP 400 (\(refusal)): \(message)", default: 0] += 1
                }
            }
            for (drop, count) in result.drops {
                report.rejections["HTTP \(drop.status): \(drop.message)", default: 0] += count
            }
            if let progress, let position = samples.position { progress(position) }
        }
        report.problems = samples.problems
        return report
    }
}
