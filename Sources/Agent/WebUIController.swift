import Config
import Events
import Foundation
import Hummingbird
import Projections
import Scrape

/// The web UI and the JSON it reads: clustering view, targets, throughput graph
/// and ownership timeline. Served from the binary itself, no build step.
///
/// The page, served by one member, also reads its peers' JSON on their own
/// ports, so every GET JSON endpoint here answers `Access-Control-Allow-Origin: *`.
struct WebUIController: Sendable {
    let state: AgentState
    let board: TargetStatusBoard
    let throughput: ThroughputMeter
    let cluster: ClusterService?
    let oracle: any OwnershipOracle
    let store: ProjectionStore

    /// A member as `/api/v0/cluster/members` lists it: Alloy's peer fields plus the incarnation.
    struct Member: Encodable {
        var name: String
        var addr: String
        var isSelf: Bool
        var state: String
        var incarnation: UInt64
    }

    struct Members: Encodable {
        var node: String
        var clustered: Bool
        var members: [Member]
    }

    /// `/api/v0/throughput`: this member's appended samples per second, oldest first.
    struct Throughput: Encodable {
        var node: String
        /// Seconds between points.
        var step: Int
        var points: [ThroughputMeter.Point]
    }

    /// A target as `/api/v0/web/targets` lists it: `TargetStatus` with the key in hex
    /// (JavaScript numbers cannot hold 64-bit keys) and the node that answered.
    struct WebTarget: Encodable {
        var key: String
        var job: String
        var url: String
        var labels: [String: String]
        var health: TargetStatus.Health
        var lastScrape: Int64?
        var lastError: String?
        var lastDurationSeconds: Double?
        var lastSamples: Int?
        var scrapedHere: Bool
        var owner: String?
        /// The series count published for `balance = "series"`, in effect now.
        var weight: UInt64?
    }

    struct WebTargets: Encodable {
        var node: String
        var targets: [WebTarget]
    }

    struct OwnershipHistory: Encodable {
        var node: String
        /// When the answer was made (ms since the epoch): the end of the last interval.
        var now: Int64
        var changes: [OwnershipChangeRow]
    }

    struct Problem: Encodable {
        var error: String
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/") { _, _ in Self.asset(WebAssets.page, type: "text/html; charset=utf-8") }
        router.get("/ui/") { _, _ in Self.asset(WebAssets.page, type: "text/html; charset=utf-8") }
        router.get("/ui/app.css") { _, _ in Self.asset(WebAssets.style, type: "text/css; charset=utf-8") }
        router.get("/ui/app.js") { _, _ in Self.asset(WebAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/ui/icon.svg") { _, _ in Self.asset(WebAssets.icon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in Self.asset(WebAssets.icon, type: "image/svg+xml") }

        router.get("/api/v0/cluster/members") { _, _ in Self.json(members()) }
        router.get("/api/v0/web/targets") { _, _ in Self.json(targets()) }
        router.get("/api/v0/throughput") { request, _ in
            let seconds = request.uri.queryParameters.get("seconds", as: Int.self) ?? 300
            return Self.json(throughputPoints(seconds: seconds))
        }
        router.get("/api/v0/ownership-history") { request, _ in
            let parameters = request.uri.queryParameters
            let query: OwnershipQuery
            do {
                query = try ownershipQuery(
                    targets: parameters.getAll("target").map { String($0) }, member: parameters.get("member"),
                    since: parameters.get("since"), until: parameters.get("until"))
            } catch {
                return Self.json(Problem(error: "\(error)"), status: .badRequest)
            }
            do {
                let changes = try store.ownershipHistory(query).map { OwnershipChangeRow($0) }
                return Self.json(
                    OwnershipHistory(
                        node: state.nodeName, now: Int64(Date().timeIntervalSince1970 * 1000), changes: changes))
            } catch {
                return Self.json(Problem(error: "\(error)"), status: .internalServerError)
            }
        }
    }

    func members() -> Members {
        guard let cluster else {
            return Members(
                node: state.nodeName, clustered: false,
                members: [
                    Member(
                        name: state.nodeName, addr: state.advertise, isSelf: true, state: "participant", incarnation: 0)
                ])
        }
        return Members(
            node: state.nodeName, clustered: true,
            members: cluster.peers.map {
                Member(name: $0.name, addr: $0.address, isSelf: $0.isSelf, state: $0.state, incarnation: $0.incarnation)
            })
    }

    func targets() -> WebTargets {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        return WebTargets(
            node: state.nodeName,
            targets: board.all.map { status in
                WebTarget(
                    key: TargetKey.format(status.key), job: status.job, url: status.url, labels: status.labels,
                    health: status.health, lastScrape: status.lastScrape, lastError: status.lastError,
                    lastDurationSeconds: status.lastDurationSeconds, lastSamples: status.lastSamples,
                    scrapedHere: status.scrapedHere, owner: oracle.owner(of: status.ownerKey, at: now),
                    weight: cluster?.weight(of: status.ownerKey, at: now))
            })
    }

    /// The last `seconds` whole seconds (the current, partial second left out).
    func throughputPoints(seconds: Int) -> Throughput {
        let count = max(1, min(seconds, Int(throughput.window) - 1))
        let points = throughput.points(now: Date().addingTimeInterval(-1))
        return Throughput(node: state.nodeName, step: 1, points: Array(points.suffix(count)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data("{\"error\":\"encoding failed\"}".utf8)
        return Response(
            status: status,
            headers: [
                .contentType: "application/json; charset=utf-8", .accessControlAllowOrigin: "*",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
