import Cluster
import Events
import Foundation
import Hummingbird
import NIOCore
import Prometheus
import Scrape
import Synchronization
import WAL

/// The agent's HTTP API: health, self-metrics, peers (Alloy's shape), targets, discovery health.
struct APIController: Sendable {
    let state: AgentState
    let board: TargetStatusBoard
    let metrics: SelfMetrics
    let log: EventLog
    let outputs: OutputService
    let cluster: ClusterService?
    let oracle: any OwnershipOracle
    let reloader: ConfigService
    /// Failed TLS handshakes on the server, when it serves TLS.
    var tlsFailures: TLSHandshakeFailures? = nil

    struct Peer: Codable, ResponseEncodable {
        var name: String
        var addr: String
        var isSelf: Bool
        var state: String
    }

    struct TargetList: Codable, ResponseEncodable {
        var targets: [TargetStatus]
    }

    /// The WAL's figures for `/metrics`, and how many segments it has (one listing of the directory).
    func walReading() -> (SelfMetrics.WALReading, segments: Int) {
        let health = log.health
        let truncations = outputs.truncations.withLock { $0 }
        let segments = (try? SegmentName.list(in: log.writer.directory)) ?? []
        var size = 0
        for segment in segments {
            var info = stat()
            if stat(SegmentName.path(segment, in: log.writer.directory), &info) == 0 { size += Int(info.st_size) }
        }
        let reading = SelfMetrics.WALReading(
            currentSegment: log.writer.end.segment, sizeBytes: size, fsyncs: log.writer.syncs.syncs,
            fsyncSeconds: log.writer.syncs.seconds, writesFailed: Int(health.failures.values.reduce(0, +)),
            truncations: truncations.done, truncationsFailed: truncations.failed,
            corruptions: log.writer.openRepairs.count)
        return (reading, segments.count)
    }

    func addRoutes(to router: Router<some PeerRequestContext>) {
        router.get("/-/healthy") { _, _ in "agentd is healthy.\n" }
        router.get("/-/ready") { _, _ -> Response in
            guard state.isReady && (cluster?.hasJoined ?? true) else {
                return Response(
                    status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "agentd is not ready.\n")))
            }
            // Scrapes that cannot be stored are lost: not ready while the WAL refuses appends.
            if let failing = log.health.failing {
                let text = "agentd is not ready: WAL appends failing (\(failing.reason)): \(failing.error)\n"
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            // A restarted agent is not ready while it still forwards what it had appended before.
            let behind = outputs.endpointsBehindStart
            if !behind.isEmpty {
                let text =
                    "agentd is not ready: remote write has not yet delivered the WAL written before this start "
                    + "(endpoints: \(behind.joined(separator: ", ")))\n"
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "agentd is ready.\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            let limits = board.limitCounters
            let (wal, walSegments) = walReading()
            let reading = SelfMetrics.Reading(
                targetsScrapedHere: board.all.filter(\.scrapedHere).count, walSegments: walSegments,
                walSegmentsDropped: outputs.droppedSegments.withLock { $0 }, walHealth: log.health,
                scrapeLimits: .init(
                    bodySize: limits.bodySizeLimitExceeded, samples: limits.sampleLimitExceeded,
                    labels: limits.labelLimitsExceeded, walRecord: limits.tooLargeForWAL,
                    targetLimit: limits.targetLimitExceeded, duplicateSamples: limits.duplicateSamples,
                    slotsSkipped: limits.slotsSkipped),
                remoteWrite: outputs.remoteWriteMetrics, cluster: cluster?.metricsReading,
                tlsHandshakeFailures: tlsFailures?.count, discovery: reloader.health.all,
                samplesAppended: log.appendedSamples, activeSeries: board.statistics.activeSeries,
                intervalLengths: board.statistics.intervalLengths, syncLengths: board.statistics.syncLengths,
                wal: wal)
            let body = metrics.exposition(reading)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/api/v0/web/peers") { _, _ -> [Peer] in
            guard let cluster else {
                return [Peer(name: state.nodeName, addr: state.advertise, isSelf: true, state: "participant")]
            }
            return cluster.peers.map { Peer(name: $0.name, addr: $0.address, isSelf: $0.isSelf, state: $0.state) }
        }
        router.get("/api/v0/discovery") { _, _ -> [DiscoveryHealth.Status] in reloader.health.all }
        router.get("/api/v0/targets") { _, _ -> TargetList in
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            return TargetList(
                targets: board.all.map { status in
                    var status = status
                    status.owner = oracle.owner(of: status.ownerKey, at: now)
                    status.weight = cluster?.weight(of: status.ownerKey, at: now)
                    return status
                })
        }
        router.post("/-/reload") { _, _ -> Response in
            if let error = await reloader.reload() {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "configuration reloaded\n")))
        }
        router.post("/api/v1/cluster/message") { request, context -> Response in
            guard let cluster else {
                return Response(
                    status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "clustering is disabled\n")))
            }
            // The TCP peer, not a header: a client cannot vary it for free.
            let peer = GossipPeer(
                address: context.remoteAddress, claimed: request.headers[.init("X-Agentd-Sender")!])
            if cluster.requiresClientCertificate, await !context.hasVerifiedClientCertificate {
                let reason = cluster.rejectUncertified(from: peer)
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "\(reason)\n")))
            }
            let rejection: MessageRejection
            do {
                let body = try await request.body.collect(upTo: ClusterService.maximumBodySize)
                guard let refused = await cluster.receive(Array(buffer: body), from: peer) else {
                    return Response(status: .noContent)
                }
                rejection = refused
            } catch is NIOTooManyBytesError {
                rejection = cluster.rejectOversized(from: peer)
            }
            let status: HTTPResponse.Status =
                switch rejection {
                case .authenticationFailed, .clusterMismatch: .forbidden
                case .oversized: .contentTooLarge
                case .replayed, .stale, .fromSelf, .nameTaken: .conflict
                case .malformed: .badRequest
                }
            // The reason's label tells the sender what was refused (a taken node name, say) without parsing the text.
            return Response(
                status: status, headers: [.init(ClusterService.rejectionHeader)!: rejection.label],
                body: .init(byteBuffer: ByteBuffer(string: "\(rejection)\n")))
        }
    }
}
