import Cluster
import Events
import Foundation
import Hummingbird
import Prometheus
import Scrape
import Synchronization
import WAL

/// The agent's HTTP API: health, self-metrics, peers (Alloy's shape), targets.
struct APIController: Sendable {
    let state: AgentState
    let board: TargetStatusBoard
    let metrics: AgentMetrics
    let log: EventLog
    let outputs: OutputServices
    let cluster: ClusterService?
    let oracle: any OwnershipOracle
    let reloader: ConfigReloader

    struct Peer: Codable, ResponseEncodable {
        var name: String
        var addr: String
        var isSelf: Bool
        var state: String
    }

    struct TargetList: Codable, ResponseEncodable {
        var targets: [TargetStatus]
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/-/healthy") { _, _ in "agentd is healthy.\n" }
        router.get("/-/ready") { _, _ -> Response in
            state.isReady && (cluster?.hasJoined ?? true)
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "agentd is ready.\n")))
                : Response(
                    status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "agentd is not ready.\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.targets.set(Double(board.all.filter(\.scrapedHere).count))
            let segments = (try? SegmentNameList.count(in: log.writer.directory)) ?? 0
            metrics.walSegments.set(Double(segments))
            var body = metrics.exposition()
            body += board.limitCounters.exposition()
            body += RemoteWriteExposition.render(outputs.remoteWriteMetrics)
            if let cluster { body += ClusterExposition.render(cluster) }
            let dropped = outputs.droppedSegments.withLock { $0 }
            body += Array(
                """
                # HELP agentd_wal_segments_dropped_total WAL segments deleted by a maximum age or size before every reader had passed them.
                # TYPE agentd_wal_segments_dropped_total counter
                agentd_wal_segments_dropped_total \(dropped)

                """.utf8)
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
        router.get("/api/v0/targets") { _, _ -> TargetList in
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            return TargetList(
                targets: board.all.map { status in
                    var status = status
                    status.owner = oracle.owner(of: status.key, at: now)
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
            let body = try await request.body.collect(upTo: 1 << 20)
            let peer = request.headers[.init("X-Agentd-Sender")!] ?? "unknown"
            guard let rejection = await cluster.receive(Array(buffer: body), from: peer) else {
                return Response(status: .noContent)
            }
            let status: HTTPResponse.Status =
                switch rejection {
                case .authenticationFailed, .clusterMismatch: .forbidden
                case .oversized: .contentTooLarge
                case .replayed, .stale: .conflict
                case .malformed: .badRequest
                }
            return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "\(rejection)\n")))
        }
    }
}

enum SegmentNameList {
    static func count(in directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.count == 8 && Int($0) != nil }.count
    }
}
