import AsyncHTTPClient
import Cluster
import Events
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Scrape
import Synchronization

/// The transport shell around the pure `Membership` state machine: it carries
/// the machine's directives out over HTTP on the agent's own port, feeds it
/// incoming messages and ticks, keeps the ownership tracker in step, and writes
/// every membership and ownership change to the event log.
final class ClusterService: Sendable, OwnershipOracle {
    struct Counters: Sendable {
        var rxBytes = 0
        var txBytes = 0
        var rejected: [String: Int] = [:]
        var sendFailures = 0
        var nameConflicts = 0
        var movedTargets = 0
    }

    private struct State: Sendable {
        var membership: Membership
        var tracker = OwnershipTracker()
        var targetLabels: [UInt64: Labels] = [:]
        /// Targets of components with `clustering { enabled = true }`; the others every member scrapes.
        var clustered: Set<UInt64> = []
        var nextTick: ClusterTime
        var counters = Counters()
        var departed = false
        var loggedRejections: [String: ClusterTime] = [:]
        var sizeReached = false
        /// Set once this member has announced itself a participant.
        var announced = false
    }

    let name: String
    let address: String
    private let options: AgentOptions.ClusterOptions
    private let state: Mutex<State>
    private let log: EventLog
    private let client: HTTPClient
    private let logger: Logger
    private let outbox: AsyncStream<(Message, String)>.Continuation
    private let outgoing: AsyncStream<(Message, String)>
    private let startedAt = ClusterTime.wallClock

    init(
        options: AgentOptions.ClusterOptions, name: String, address: String, log: EventLog, client: HTTPClient,
        logger: Logger
    ) throws {
        self.options = options
        self.name = name
        self.address = address
        self.log = log
        self.client = client
        self.logger = logger
        var secret: [UInt8]?
        if let file = options.secretFile {
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else {
                throw AgentError("--cluster.secret-file \(file): cannot read a non-empty key from it")
            }
            secret = Array(data).filter { $0 != 0x0A && $0 != 0x0D }
        }
        let now = ClusterTime.wallClock
        let membership = Membership(
            node: Node(name: name, address: address), settings: MembershipSettings(),
            codec: MessageCodec(clusterName: options.name, secret: secret), now: now,
            seed: UInt64(UInt32(truncatingIfNeeded: getpid())) ^ UInt64(now.nanoseconds))
        state = Mutex(State(membership: membership, nextTick: now))
        (outgoing, outbox) = AsyncStream.makeStream(of: (Message, String).self)
    }

    // MARK: Ownership, for the scrape loops

    func owns(_ key: UInt64, atSlot slot: Int64) -> Bool {
        state.withLock { state in
            guard state.clustered.contains(key) else { return true }
            return state.sizeReached && state.tracker.owner(of: key, at: ClusterTime(nanoseconds: slot)) == name
        }
    }

    func owner(of key: UInt64, at time: Int64) -> String? {
        state.withLock { state in
            state.clustered.contains(key) ? state.tracker.owner(of: key, at: ClusterTime(nanoseconds: time)) : name
        }
    }

    /// The targets of every job, so that every member computes the owner of every target.
    func setTargets(_ targets: [(key: UInt64, labels: Labels, interval: Duration)]) async {
        let changes: [OwnershipChange] = state.withLock { state in
            for target in targets { state.targetLabels[target.key] = target.labels }
            state.clustered = Set(targets.map(\.key))
            return state.tracker.setTargets(
                targets.map { Cluster.ScrapeTarget(key: $0.key, interval: $0.interval) }, now: .wallClock)
        }
        await record(changes)
    }

    // MARK: Membership

    struct Peer: Sendable {
        var name: String
        var address: String
        var isSelf: Bool
        var state: String
        var incarnation: UInt64
    }

    var peers: [Peer] {
        state.withLock { state in
            let now = ClusterTime.wallClock
            return state.membership.members.values.sorted { $0.name < $1.name }.map { member in
                let role = member.role(at: now)
                let status: String =
                    switch member.liveness {
                    case .alive: role.map(\.description) ?? "viewer"
                    case .suspect: "suspect"
                    case .dead: "dead"
                    case .left: "left"
                    }
                return Peer(
                    name: member.name, address: member.node.address, isSelf: member.name == name, state: status,
                    incarnation: member.incarnation)
            }
        }
    }

    var counters: Counters { state.withLock { $0.counters } }
    var lamport: UInt64 { state.withLock { $0.membership.lamport } }
    var lateSlots: Int { state.withLock { $0.tracker.lateSlots } }
    var hasDeparted: Bool { state.withLock { $0.departed } }
    /// True once the join is done and this member announced itself: what `/-/ready` waits for.
    var hasJoined: Bool { state.withLock { $0.announced } }
    /// Each peer's clock offset from this member's, measured from ping round trips.
    var clockSkew: [String: Duration] { state.withLock { $0.membership.clockSkew } }

    /// The largest gossip request body read; a larger one is refused unread (413), counted
    /// as `oversized`.
    static let maximumBodySize = 1 << 20

    /// A gossip request whose body is over ``maximumBodySize``: counted and logged like any rejection.
    func rejectOversized(from peer: GossipPeer) -> MessageRejection {
        let rejection = MessageRejection.oversized(size: Self.maximumBodySize + 1, limit: Self.maximumBodySize)
        state.withLock { $0.counters.rejected[rejection.label, default: 0] += 1 }
        logRejection(rejection, from: peer, now: ClusterTime.wallClock)
        return rejection
    }

    /// Logs a rejection at most once a minute per peer address and reason: the address is the
    /// TCP peer's, which a client cannot vary for free (a header it sends, it can).
    private func logRejection(_ rejection: MessageRejection, from peer: GossipPeer, now: ClusterTime) {
        let shouldLog = state.withLock { state in
            let key = "\(peer.host)/\(rejection.label)"
            if let last = state.loggedRejections[key], now - last < .seconds(60) { return false }
            if state.loggedRejections.count >= 4_096 { state.loggedRejections.removeAll() }
            state.loggedRejections[key] = now
            return true
        }
        guard shouldLog else { return }
        var metadata: Logger.Metadata = ["cluster.peer_address": "\(peer.address)", "cluster.reason": "\(rejection)"]
        if let claimed = peer.claimed { metadata["cluster.claimed_sender"] = "\(claimed)" }
        logger.warning("Rejected a cluster message", metadata: metadata)
    }

    /// An incoming gossip message (the body of `POST /api/v1/cluster/message`).
    /// Returns nil when accepted, or the rejection (answered with a 4xx).
    func receive(_ bytes: [UInt8], from peer: GossipPeer) async -> MessageRejection? {
        let now = ClusterTime.wallClock
        let result: Result<[Directive], MessageRejection> = state.withLock { state in
            state.counters.rxBytes += bytes.count
            do throws(MessageRejection) {
                return .success(try state.membership.receive(bytes, now: now))
            } catch {
                state.counters.rejected[error.label, default: 0] += 1
                return .failure(error)
            }
        }
        switch result {
        case .success(let directives):
            await execute(directives)
            return nil
        case .failure(let rejection):
            logRejection(rejection, from: peer, now: now)
            return rejection
        }
    }

    /// Joins through the join addresses, becomes a participant, and runs the protocol until cancelled.
    func run() async {
        let seeds = options.joinAddresses.filter { $0 != address }
        await execute(state.withLock { $0.membership.join(seeds: seeds, now: .wallClock) })
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliver() }
            group.addTask { await self.tick() }
            group.addTask {
                // Announce "participant" only once the join has been answered (or nobody answered
                // in time): the hand-off delay then fits the real cluster size, and this member's
                // incarnation already refutes whatever the others remember of its previous run.
                let deadline = ContinuousClock.now + .seconds(3)
                while !seeds.isEmpty && ContinuousClock.now < deadline
                    && self.state.withLock({ $0.membership.members.count < 2 })
                {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                try? await Task.sleep(for: .milliseconds(300))
                await self.execute(
                    self.state.withLock { state in
                        state.announced = true
                        return state.membership.becomeParticipant(now: .wallClock)
                    })
            }
            group.addTask { await self.rejoin(seeds) }
            group.addTask { await self.waitForSize() }
            await group.waitForAll()
        }
    }

    /// Announces "terminating" and returns once the member has left (at the agreed slot), or after `limit`.
    func leave(limit: Duration) async {
        await execute(state.withLock { $0.membership.leave(now: .wallClock) })
        let deadline = ContinuousClock.now + limit
        while !hasDeparted && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the final gossip go out before the transport stops.
        try? await Task.sleep(for: .milliseconds(300))
    }

    // MARK: Internals

    private func tick() async {
        while !Task.isCancelled {
            let now = ClusterTime.wallClock
            let due = state.withLock { $0.nextTick <= now }
            if due {
                await execute(state.withLock { $0.membership.onTick(now: now) })
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func rejoin(_ seeds: [String]) async {
        guard options.rejoinInterval > .zero, !seeds.isEmpty else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: options.rejoinInterval)
            guard !hasDeparted else { return }
            await execute(state.withLock { $0.membership.join(seeds: seeds, now: .wallClock) })
        }
    }

    private func waitForSize() async {
        let deadline = options.waitTimeout > .zero ? ContinuousClock.now + options.waitTimeout : nil
        while !Task.isCancelled {
            let reached = state.withLock { state in
                if !state.sizeReached && state.membership.clusterSize >= options.waitForSize {
                    state.sizeReached = true
                }
                return state.sizeReached
            }
            if reached { return }
            if let deadline, ContinuousClock.now >= deadline {
                logger.warning(
                    "Cluster did not reach --cluster.wait-for-size in time; scraping anyway",
                    metadata: ["cluster.size": "\(state.withLock { $0.membership.clusterSize })"])
                state.withLock { $0.sizeReached = true }
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func deliver() async {
        await withTaskGroup(of: Void.self) { group in
            for await (message, destination) in outgoing {
                group.addTask { await self.send(message, to: destination) }
            }
        }
    }

    private func send(_ message: Message, to destination: String) async {
        let bytes = state.withLock { $0.membership.codec.encode(message) }
        var request = HTTPClientRequest(url: "http://\(destination)/api/v1/cluster/message")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "X-Agentd-Sender", value: address)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        do {
            let response = try await client.execute(request, timeout: .seconds(1))
            state.withLock { $0.counters.txBytes += bytes.count }
            if response.status.code >= 400 {
                let body = try await response.body.collect(upTo: 1024)
                logger.debug(
                    "A peer rejected a cluster message",
                    metadata: ["cluster.peer": "\(destination)", "cluster.reason": "\(String(buffer: body))"])
            }
        } catch {
            state.withLock { $0.counters.sendFailures += 1 }
        }
    }

    private func execute(_ directives: [Directive]) async {
        var changes: [MembershipChange] = []
        for directive in directives {
            switch directive {
            case .send(let message, let destination):
                outbox.yield((message, destination))
            case .scheduleTick(let delay):
                state.withLock { $0.nextTick = .wallClock + delay }
            case .membershipChanged(let change):
                changes.append(change)
            case .nameConflict(let conflict):
                state.withLock { $0.counters.nameConflicts += 1 }
                logger.error(
                    "Two members use the same node name",
                    metadata: [
                        "cluster.node": "\(conflict.name)", "cluster.known_address": "\(conflict.knownAddress)",
                        "cluster.conflicting_address": "\(conflict.conflictingAddress)",
                    ])
            case .departed:
                state.withLock { $0.departed = true }
                logger.info("Left the cluster")
            }
        }
        guard !changes.isEmpty else { return }
        for change in changes { await record(change) }
        let ownership = state.withLock { state in
            state.tracker.update(timeline: state.membership.timeline, now: .wallClock)
        }
        await record(ownership)
    }

    private func record(_ change: MembershipChange) async {
        let stateName: MembershipEvent.State
        switch change.kind {
        case .joined: stateName = .joined
        case .suspected: stateName = .suspect
        case .refuted: stateName = .refuted
        case .declaredDead: stateName = .dead
        case .left: stateName = .left
        case .roleChanged(let role):
            switch role.role {
            case .viewer: stateName = .viewer
            case .participant: stateName = .participant
            case .terminating: stateName = .terminating
            case .dead: stateName = .dead
            }
        }
        logger.info(
            "Cluster membership changed",
            metadata: ["cluster.member": "\(change.member.name)", "cluster.state": "\(stateName.rawValue)"])
        let event = MembershipEvent(
            time: change.observedAt.milliseconds, lamport: change.lamport, member: change.member.name,
            address: change.member.address, state: stateName, incarnation: change.incarnation,
            reportedBy: change.reporters, detail: "learned from \(change.learnedFrom)")
        await append(.membership(event))
    }

    private func record(_ changes: [OwnershipChange]) async {
        guard !changes.isEmpty else { return }
        let labels = state.withLock { state in
            state.counters.movedTargets += changes.filter { $0.previousOwner != nil && $0.newOwner != nil }.count
            return state.targetLabels
        }
        let now = ClusterTime.wallClock.milliseconds
        for change in changes {
            let (cause, detail): (OwnershipEvent.Cause, String) =
                switch change.cause {
                case .memberJoined(let member): (.memberJoined, "\(member) joined")
                case .memberLeft(let member): (.memberLeft, "\(member) left gracefully")
                case .memberDeclaredDead(let member, let reporters):
                    (
                        .memberDead,
                        "\(member) declared dead"
                            + (reporters.isEmpty ? "" : " after suspicion by \(reporters.joined(separator: ", "))")
                    )
                case .targetAdded: (.targetAdded, "target added by discovery")
                case .targetRemoved: (.targetRemoved, "target removed by discovery")
                }
            let event = OwnershipEvent(
                time: now, effective: change.effective.milliseconds, target: change.target,
                labels: labels[change.target] ?? Labels(), previousOwner: change.previousOwner ?? "",
                newOwner: change.newOwner ?? "", cause: cause, detail: detail)
            await append(.ownership(event))
        }
    }

    private func append(_ event: Event) async {
        do {
            try await log.append(event)
        } catch {
            logger.error("Could not append a cluster event to the WAL", metadata: ["error": "\(error)"])
        }
    }
}

extension ClusterTime {
    /// Now, on the wall clock: members compare effective times across machines.
    static var wallClock: ClusterTime { ClusterTime(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)) }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

/// Who sent a gossip request: the TCP peer's address, and the sender its header claims.
struct GossipPeer: Sendable {
    var address: String
    /// The host part alone: what rejections are rate-limited by (a port is free to change).
    var host: String
    var claimed: String?

    init(address: SocketAddress?, claimed: String?) {
        self.address = address.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        self.host = address?.ipAddress ?? "unknown"
        self.claimed = claimed
    }
}

extension ClusterService {
    /// The member's view of the cluster, for `/metrics`.
    var metricsReading: SelfMetrics.ClusterReading {
        let peers = self.peers
        let counters = self.counters
        return SelfMetrics.ClusterReading(
            name: name, address: address, state: peers.first(where: \.isSelf)?.state ?? "viewer",
            peersByState: Dictionary(grouping: peers, by: \.state).mapValues(\.count), lamport: lamport,
            rxBytes: counters.rxBytes, txBytes: counters.txBytes, sendFailures: counters.sendFailures,
            rejected: counters.rejected, nameConflicts: counters.nameConflicts, lateSlots: lateSlots,
            movedTargets: counters.movedTargets, clockSkewSeconds: clockSkew.mapValues(\.seconds))
    }
}
