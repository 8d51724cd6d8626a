import AsyncHTTPClient
import Cluster
import DNSLookup
import Events
import Foundation
import HTTPSecurity
import Logging
import NIOCore
import NIOHTTP1
import Primitives
import Scrape
import ServiceLifecycle
import Synchronization

/// The transport shell around the cluster's pure state machines — ``ClusterLifecycle``, which
/// wraps the gossip ``Membership`` — as a service: it carries their directives out over HTTP on
/// the agent's own port, feeds them incoming messages, failed sends and ticks, keeps the
/// ownership tracker in step, and writes every membership and ownership change to the event log.
///
/// It ticks the machine exactly when the machine asks to be ticked, and sleeps in between: an
/// input that brings the next tick closer (a message received, a send that failed) or a leave
/// request wakes it early; nothing polls.
final class ClusterService: Service, Sendable, OwnershipOracle {
    struct Counters: Sendable {
        var rxPackets = 0
        var rxBytes = 0
        /// Messages and bytes sent, delivered or not (as Alloy counts them).
        var txPackets = 0
        var txBytes = 0
        var rejected: [String: Int] = [:]
        var sendFailures = 0
        var nameConflicts = 0
        var movedTargets = 0
        /// Ownership changes recorded, by cause (`OwnershipEvent.Cause`'s names).
        var ownershipChanges: [String: Int] = [:]
        /// Lookups of `--cluster.join-addresses` names that failed.
        var joinLookupFailures = 0
    }

    private struct State: Sendable {
        var lifecycle: ClusterLifecycle
        var tracker = OwnershipTracker()
        var targetLabels: [UInt64: Labels] = [:]
        /// Targets of components with `clustering { enabled = true }`; the others every member scrapes.
        var clustered: Set<UInt64> = []
        /// When the machine asked to be ticked next, on the clock that never jumps.
        var nextTick: ContinuousClock.Instant
        /// A graceful leave not yet handed to the machine, with its time limit.
        var leaveRequest: Duration?
        var counters = Counters()
        var loggedRejections: [String: ClusterTime] = [:]
        var weights = WeightBook()
    }

    /// This member's side of `balance = "series"`: what it measured of the targets it scrapes,
    /// what it last published, and a publication waiting for the tick loop.
    struct WeightBook: Sendable {
        /// Owner keys of the targets balanced by series.
        var balanced: Set<UInt64> = []
        /// Scrape target key → owner key, for every target this member runs a loop for (a reload
        /// may switch a component to `balance = "series"` without restarting its loops).
        var ownerKeys: [UInt64: UInt64] = [:]
        /// Owner key → series count of its latest successful scrape by this member.
        var measured: [UInt64: UInt64] = [:]
        /// The map this member published last.
        var published: [UInt64: UInt64] = [:]
        /// Whether `published` names a target no longer balanced by series (set with the targets).
        var publishedGone = false
        var publishedAt: ContinuousClock.Instant?
        var pending: [UInt64: UInt64]?
    }

    /// The least time between two weight publications of one member.
    static let weightPublicationInterval: Duration = .seconds(5)

    /// What the tick loop does next.
    private enum Step {
        case tick(at: ContinuousClock.Instant)
        case leave(limit: Duration)
        case publish([UInt64: UInt64])
        case stop
    }

    let name: String
    let address: String
    private let options: AgentOptions.ClusterOptions
    private let leaveLimit: Duration
    private let listening: @Sendable () async -> Void
    private let codec: MessageCodec
    private let state: Mutex<State>
    private let log: EventLog
    private let client: HTTPClient
    /// With `--cluster.enable-tls`: the member's certificate and CA, read again when they change,
    /// and the clients that carry them.
    private let tls: (credentials: HTTPClientCredentials, clients: HTTPClientPool)?
    private let logger: Logger
    private let outbox: AsyncStream<(Message, String)>.Continuation
    private let outgoing: AsyncStream<(Message, String)>
    /// Wakes the tick loop early.
    private let wakeup = Wakeup()
    /// Looks up the join addresses' names.
    private let resolver: any DNSResolving
    /// The port of join addresses given without one: the HTTP server's.
    private let defaultPort: Int
    /// The machine asked for the join addresses to be looked up (`.resolveSeeds`).
    private let resolutionRequests: AsyncStream<Void>.Continuation
    private let resolutions: AsyncStream<Void>
    /// Membership and ownership events on their way into the WAL, in the order they were made.
    /// One task of `run()` appends them; nothing else waits for the disk, so a stalled `fdatasync`
    /// slows neither gossip, probes and their answers, nor the ownership view the scrape loops ask.
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation

    /// - Parameters:
    ///   - leaveLimit: The longest a graceful leave may take; it normally ends at the hand-off slot,
    ///     2–3 s after the shutdown began.
    ///   - listening: Returns once the agent's HTTP server listens (the gossip runs over its port)
    ///     or failed to: `run()` joins only then. By default the server listens already.
    ///   - tls: The client side of `--cluster.enable-tls`: gossip then goes over HTTPS with this
    ///     member's certificate, and gossip received must come with a verified one.
    init(
        options: AgentOptions.ClusterOptions, name: String, address: String, log: EventLog, client: HTTPClient,
        logger: Logger, leaveLimit: Duration = .seconds(15), tls: HTTPClientSettings? = nil,
        defaultPort: Int = 12345, resolver: any DNSResolving = SystemResolver(),
        listening: @escaping @Sendable () async -> Void = {}
    ) throws {
        self.defaultPort = defaultPort
        self.resolver = resolver
        for entry in options.joinAddresses where JoinAddress(entry) == nil {
            throw AgentError(
                "--cluster.join-addresses: \"\(entry)\" is not an address (host, host:port, [IPv6]:port, with an optional dns+, dnssrv+ or dnssrvnoa+ prefix)"
            )
        }
        (resolutions, resolutionRequests) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.options = options
        self.name = name
        self.address = address
        self.log = log
        self.client = client
        // The configuration of the clear-text gossip client (`HTTPScraper.makeClient`).
        self.tls = tls.map { settings in
            (
                HTTPClientCredentials(settings: settings, owner: "cluster"),
                HTTPClientPool(configuration: HTTPScraper.clientConfiguration)
            )
        }
        self.logger = logger
        self.leaveLimit = leaveLimit
        self.listening = listening
        var secret: [UInt8]?
        if let file = options.secretFile {
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else {
                throw AgentError("--cluster.secret-file \(file): cannot read a non-empty key from it")
            }
            secret = Array(data).filter { $0 != 0x0A && $0 != 0x0D }
        }
        codec = MessageCodec(clusterName: options.name, secret: secret)
        let now = ClusterTime.wallClock
        var membershipSettings = MembershipSettings()
        membershipSettings.deadMemberRetention = options.deadMemberRetention
        let membership = Membership(
            node: Node(name: name, address: address), settings: membershipSettings, codec: codec, now: now,
            seed: UInt64(UInt32(truncatingIfNeeded: getpid())) ^ UInt64(now.nanoseconds))
        var settings = ClusterLifecycle.Settings()
        settings.rejoinInterval = options.rejoinInterval
        settings.waitForSize = options.waitForSize
        settings.waitTimeout = options.waitTimeout
        settings.resolvesSeeds = !options.joinAddresses.isEmpty
        state = Mutex(
            State(lifecycle: ClusterLifecycle(membership: membership, settings: settings), nextTick: .now))
        (outgoing, outbox) = AsyncStream.makeStream(of: (Message, String).self)
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    // MARK: Ownership, for the scrape loops

    func owns(_ key: UInt64, atSlot slot: Int64) -> Bool {
        state.withLock { state in
            guard state.clustered.contains(key) else { return true }
            return !state.lifecycle.isWaitingForSize
                && state.tracker.owners(of: key, at: ClusterTime(nanoseconds: slot)).contains(name)
        }
    }

    /// The owner at `time`; a target with replicas names its owners in ring order, joined by ",".
    func owner(of key: UInt64, at time: Int64) -> String? {
        state.withLock { state in
            guard state.clustered.contains(key) else { return name }
            let owners = state.tracker.owners(of: key, at: ClusterTime(nanoseconds: time))
            return owners.isEmpty ? nil : owners.joined(separator: ",")
        }
    }

    /// The weight of a target balanced by series in effect at `time` (ns).
    func weight(of key: UInt64, at time: Int64) -> UInt64? {
        state.withLock { $0.tracker.weight(of: key, at: ClusterTime(nanoseconds: time)) }
    }

    /// A clustered target as ownership sees it: its owner key, the labels that key is of, its
    /// interval, its replicas and how it is balanced.
    typealias Target = (key: UInt64, labels: Labels, interval: Duration, replicas: Int, balance: Balance)
    typealias Balance = Cluster.ScrapeTarget.Balance

    /// The balance a `clustering { balance }` value names (the config checked it).
    static func balance(named name: String) -> Balance { Balance(rawValue: name) ?? .targets }

    /// The targets of every job, so that every member computes the owner of every target.
    func setTargets(_ targets: [Target]) async {
        let changes: [OwnershipChange] = state.withLock { state in
            for target in targets { state.targetLabels[target.key] = target.labels }
            state.clustered = Set(targets.map(\.key))
            state.weights.balanced = Set(targets.filter { $0.balance == .series }.map(\.key))
            state.weights.measured = state.weights.measured.filter { state.weights.balanced.contains($0.key) }
            state.weights.publishedGone = state.weights.published.keys.contains {
                !state.weights.balanced.contains($0)
            }
            return state.tracker.setTargets(
                targets.map {
                    Cluster.ScrapeTarget(
                        key: $0.key, interval: $0.interval, replicas: $0.replicas, balance: $0.balance)
                },
                now: .wallClock)
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
            return state.lifecycle.membership.members.values.sorted { $0.name < $1.name }.map { member in
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
    var lamport: UInt64 { state.withLock { $0.lifecycle.membership.lamport } }
    /// Lifeguard's local health: 0 is healthy; higher stretches this member's probe timeouts.
    var healthScore: Int { state.withLock { $0.lifecycle.membership.health.score } }
    var lateSlots: Int { state.withLock { $0.tracker.lateSlots } }
    /// True once the join is done and this member announced itself: what `/-/ready` waits for.
    var hasJoined: Bool { state.withLock { $0.lifecycle.hasAnnounced } }
    /// Each peer's clock offset from this member's, measured from ping round trips.
    var clockSkew: [String: Duration] { state.withLock { $0.lifecycle.membership.clockSkew } }

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

    /// Gossip without a verified client certificate while `--cluster.enable-tls` is on: refused
    /// (403), counted as `no_client_certificate` and logged like any rejection.
    func rejectUncertified(from peer: GossipPeer) -> String {
        let reason = "gossip requires a client certificate signed by the cluster CA (--cluster.enable-tls)"
        state.withLock { $0.counters.rejected["no_client_certificate", default: 0] += 1 }
        logRejection(label: "no_client_certificate", reason: reason, from: peer, now: ClusterTime.wallClock)
        return reason
    }

    /// Whether received gossip must come over a connection with a verified client certificate.
    var requiresClientCertificate: Bool { tls != nil }

    /// Logs a rejection at most once a minute per peer address and reason: the address is the
    /// TCP peer's, which a client cannot vary for free (a header it sends, it can).
    private func logRejection(_ rejection: MessageRejection, from peer: GossipPeer, now: ClusterTime) {
        logRejection(label: rejection.label, reason: "\(rejection)", from: peer, now: now)
    }

    private func logRejection(label: String, reason: String, from peer: GossipPeer, now: ClusterTime) {
        guard firstInAMinute("\(peer.host)/\(label)", now: now) else { return }
        var metadata: Logger.Metadata = ["cluster.peer_address": "\(peer.address)", "cluster.reason": "\(reason)"]
        if let claimed = peer.claimed { metadata["cluster.claimed_sender"] = "\(claimed)" }
        logger.warning("Rejected a cluster message", metadata: metadata)
    }

    /// True at most once a minute for `key`.
    private func firstInAMinute(_ key: String, now: ClusterTime) -> Bool { firstIn(.seconds(60), key, now: now) }

    /// True at most once per `period` for `key`.
    private func firstIn(_ period: Duration, _ key: String, now: ClusterTime) -> Bool {
        state.withLock { state in
            if let last = state.loggedRejections[key], now - last < period { return false }
            if state.loggedRejections.count >= 4_096 { state.loggedRejections.removeAll() }
            state.loggedRejections[key] = now
            return true
        }
    }

    /// Warns (once every ten minutes per peer) of a peer whose clock is off from this member's by
    /// half the hand-off delay or more: a planned change then reaches it later, by its clock, than
    /// the margin allows, and slots around hand-offs are scraped twice or missed.
    private func warnOfClockSkew() {
        let (skews, margin) = state.withLock { state in
            let membership = state.lifecycle.membership
            return (membership.clockSkew, membership.settings.handoff.delay(clusterSize: membership.clusterSize))
        }
        for (peer, skew) in skews where abs(skew.seconds) >= margin.seconds / 2 {
            guard firstIn(.seconds(600), "skew/\(peer)", now: .wallClock) else { continue }
            logger.warning(
                "A peer's clock is off from this member's by half the hand-off delay or more; synchronise the clocks (NTP)",
                metadata: [
                    "cluster.peer": "\(peer)", "cluster.clock_skew_seconds": "\(skew.seconds)",
                    "cluster.handoff_delay_seconds": "\(margin.seconds)",
                ])
        }
    }

    /// A gossip send over TLS that failed: the reason (an unknown CA, an expired certificate, a
    /// name that does not match) is what an operator needs, once a minute per peer.
    private func logTLSSendFailure(_ error: any Error, to destination: String) {
        guard firstInAMinute("send/\(destination)", now: .wallClock) else { return }
        logger.warning(
            "Could not reach a cluster peer over TLS",
            metadata: [
                "cluster.peer": "\(destination)", "cluster.reason": "\(TLSFailure.describe(error) ?? "\(error)")",
            ])
    }

    /// The member's certificate or key could not be read: gossip cannot go out until it can.
    private func reportCredentialFailure(_ error: CredentialError) {
        guard firstInAMinute("credentials", now: .wallClock) else { return }
        logger.error("Cannot read the cluster's TLS files", metadata: ["cluster.reason": "\(error)"])
    }

    /// An incoming gossip message (the body of `POST /api/v1/cluster/message`).
    /// Returns nil when accepted, or the rejection (answered with a 4xx).
    func receive(_ bytes: [UInt8], from peer: GossipPeer) async -> MessageRejection? {
        state.withLock {
            $0.counters.rxPackets += 1
            $0.counters.rxBytes += bytes.count
        }
        do throws(MessageRejection) {
            try await handle { (lifecycle, now) throws(MessageRejection) in try lifecycle.receive(bytes, now: now) }
            return nil
        } catch {
            state.withLock { $0.counters.rejected[error.label, default: 0] += 1 }
            if case .nameTaken(let name, _, let claimant) = error {
                reportNameConflict(name: name, knownAddress: address, conflictingAddress: claimant)
            } else {
                logRejection(error, from: peer, now: ClusterTime.wallClock)
            }
            return error
        }
    }

    /// The header a rejection's answer names its reason in (``MessageRejection/label``).
    static let rejectionHeader = "X-Agentd-Rejection"

    /// Two members use one node name: counted each time, logged once a minute per address.
    private func reportNameConflict(name: String, knownAddress: String, conflictingAddress: String) {
        state.withLock { $0.counters.nameConflicts += 1 }
        guard firstInAMinute("name/\(knownAddress)/\(conflictingAddress)", now: .wallClock) else { return }
        let message: Logger.Message =
            if knownAddress == address {
                "Another member uses this member's node name: its gossip is refused; give each member its own --cluster.node-name"
            } else if conflictingAddress == address {
                "Another member already holds this member's node name: this member's gossip is refused; give each member its own --cluster.node-name"
            } else {
                "Two members use the same node name: the later one's gossip about it is refused"
            }
        logger.error(
            message,
            metadata: [
                "cluster.node": "\(name)", "cluster.known_address": "\(knownAddress)",
                "cluster.conflicting_address": "\(conflictingAddress)",
            ])
    }

    // MARK: The service

    /// Waits until the HTTP server listens, joins through the join addresses, and runs the
    /// protocol. On a graceful shutdown it leaves: it goes on gossiping (and owning its targets)
    /// until the hand-off slot it announces, then returns once its departure is out, within
    /// `leaveLimit`. Cancellation stops it at once.
    func run() async {
        await withDiscardingTaskGroup { recording in
            recording.addTask { await self.writeEvents() }
            await withGracefulShutdownHandler {
                await cancelWhenGracefulShutdown(listening)
                guard !Task.isCancelled, !Task.isShuttingDownGracefully else {
                    // Stopped before joining: nothing to hand off.
                    await handle { $0.leave(now: $1, limit: .zero) }
                    return
                }
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.deliver() }
                    group.addTask { await self.resolveSeedsOnRequest() }
                    await handle { $0.join(seeds: self.options.joinAddresses, now: $1) }
                    await tickUntilStopped()
                    resolutionRequests.finish()
                    // The last messages (the departure) still go out; the group waits for them.
                    outbox.finish()
                }
                try? await tls?.clients.shutdown()
            } onGracefulShutdown: {
                self.requestLeave(limit: self.leaveLimit)
            }
            // The events of the departure are in the WAL before `run` returns (and the WAL closes).
            eventSink.finish()
        }
    }

    /// Appends the cluster's events to the WAL in order, until `run` ends and they are all in.
    private func writeEvents() async {
        for await event in events { await appendNow(event) }
    }

    /// A leave request: an input for the tick loop, which it wakes.
    private func requestLeave(limit: Duration) {
        state.withLock { state in
            if state.leaveRequest == nil { state.leaveRequest = limit }
        }
        wakeup.signal()
    }

    // MARK: Internals

    /// Ticks the machine when it asked to be, hands it leave requests, and sleeps in between,
    /// until the leave is over.
    private func tickUntilStopped() async {
        while !Task.isCancelled {
            let step: Step = state.withLock { state in
                if state.lifecycle.hasStopped { return .stop }
                if let limit = state.leaveRequest.take() { return .leave(limit: limit) }
                if let weights = state.weights.pending.take() { return .publish(weights) }
                return .tick(at: state.nextTick)
            }
            switch step {
            case .stop:
                return
            case .publish(let weights):
                await handle { $0.publishWeights(weights, now: $1) }
            case .leave(let limit):
                await handle { $0.leave(now: $1, limit: limit) }
            case .tick(let time) where time <= .now:
                await handle { $0.onTick(now: $1) }
                warnOfClockSkew()
            case .tick(let time):
                await wakeup.sleep(until: time)
            }
        }
    }

    /// Feeds the machine one input under the lock and adopts the tick it asks for there (so that
    /// concurrent inputs cannot reorder schedules), waking the tick loop if that tick is sooner
    /// than the one it sleeps for; then carries out the other directives.
    private func handle<Failure: Error>(
        _ input: (inout ClusterLifecycle, ClusterTime) throws(Failure) -> [Directive]
    ) async throws(Failure) {
        let (directives, sooner) = try state.withLock { (state) throws(Failure) in
            let directives = try input(&state.lifecycle, .wallClock)
            var sooner = false
            for case .scheduleTick(let delay) in directives {
                let tick = ContinuousClock.now + delay
                sooner = tick < state.nextTick
                state.nextTick = tick
            }
            return (directives, sooner)
        }
        if sooner { wakeup.signal() }
        await execute(directives)
    }

    /// Looks the join addresses up whenever the machine asks (before every join, retry and
    /// rejoin) and hands it what they stand for now: every address, this member's own left out,
    /// at most `--cluster.max-join-peers` of them (chosen at random; 0: all).
    private func resolveSeedsOnRequest() async {
        for await _ in resolutions {
            var found: [String] = []
            // This member's own address, and what it stands for when it is a name (Docker Compose
            // advertises `agentd-1:12345` and lists it among the join addresses too).
            var own: Set<String> = [self.address]
            if let advertised = JoinAddress(self.address), !advertised.isIPAddress {
                own.formUnion(await advertised.resolve(defaultPort: defaultPort, with: resolver).addresses)
            }
            for entry in options.joinAddresses where entry != self.address {
                guard let joinAddress = JoinAddress(entry) else { continue }
                let (addresses, errors) = await joinAddress.resolve(defaultPort: defaultPort, with: resolver)
                found += addresses
                for error in errors {
                    state.withLock { $0.counters.joinLookupFailures += 1 }
                    guard firstInAMinute("lookup/\(entry)/\(error.reason)", now: .wallClock) else { continue }
                    logger.warning(
                        "Could not look up a join address",
                        metadata: ["cluster.join_address": "\(entry)", "cluster.reason": "\(error)"])
                }
                if addresses.isEmpty && errors.isEmpty,
                    firstInAMinute("lookup/\(entry)/empty", now: .wallClock)
                {
                    logger.info(
                        "A join address stands for no address now", metadata: ["cluster.join_address": "\(entry)"])
                }
            }
            var unique = own
            var seeds = found.filter { unique.insert($0).inserted }
            if options.maxJoinPeers > 0 && seeds.count > options.maxJoinPeers {
                seeds = Array(seeds.shuffled().prefix(options.maxJoinPeers))
            }
            logger.debug("Join addresses looked up", metadata: ["cluster.seeds": "\(seeds)"])
            await handle { $0.seedsResolved(seeds, now: $1) }
        }
    }

    private func deliver() async {
        await withDiscardingTaskGroup { group in
            for await (message, destination) in outgoing {
                group.addTask { await self.send(message, to: destination) }
            }
        }
    }

    private func send(_ message: Message, to destination: String) async {
        let bytes = codec.encode(message)
        state.withLock {
            $0.counters.txPackets += 1
            $0.counters.txBytes += bytes.count
        }
        var request: HTTPClientRequest
        let client: HTTPClient
        if let tls {
            do {
                (client, request) = try tls.clients.prepare(
                    url: "https://\(destination)/api/v1/cluster/message", credentials: tls.credentials)
            } catch {
                reportCredentialFailure(error)
                state.withLock { $0.counters.sendFailures += 1 }
                await handle { $0.sendFailed(message, to: destination, now: $1) }
                return
            }
        } else {
            (client, request) = (self.client, HTTPClientRequest(url: "http://\(destination)/api/v1/cluster/message"))
        }
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "X-Agentd-Sender", value: address)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        do {
            let response = try await client.execute(request, timeout: .seconds(1))
            guard response.status.code >= 400 else { return }
            let body = try await response.body.collect(upTo: 1024)
            if response.headers.first(name: Self.rejectionHeader) == "name_conflict" {
                // The peer holds this member's name: this member is the one refused.
                reportNameConflict(name: name, knownAddress: destination, conflictingAddress: address)
            }
            logger.debug(
                "A peer rejected a cluster message",
                metadata: ["cluster.peer": "\(destination)", "cluster.reason": "\(String(buffer: body))"])
        } catch {
            state.withLock { $0.counters.sendFailures += 1 }
            if tls != nil { logTLSSendFailure(error, to: destination) }
        }
        // Not delivered, or refused: a join nobody can answer is worth knowing about.
        await handle { $0.sendFailed(message, to: destination, now: $1) }
    }

    private func execute(_ directives: [Directive]) async {
        var changes: [MembershipChange] = []
        var weightsChanged = false
        for directive in directives {
            switch directive {
            case .send(let message, let destination):
                outbox.yield((message, destination))
            case .scheduleTick:
                break  // adopted by `handle`, under the lock
            case .membershipChanged(let change):
                changes.append(change)
            case .weightsChanged(let member):
                weightsChanged = true
                logger.debug("Target weights published", metadata: ["cluster.peer": "\(member)"])
            case .nameConflict(let conflict):
                reportNameConflict(
                    name: conflict.name, knownAddress: conflict.knownAddress,
                    conflictingAddress: conflict.conflictingAddress)
            case .forgotten(let node):
                logger.info(
                    "Forgot a member that died or left; the WAL and ownership-history keep it",
                    metadata: ["cluster.peer": "\(node.name)", "cluster.peer_address": "\(node.address)"])
            case .departed:
                logger.info("Left the cluster")
            case .sizeReached(let size):
                logger.info("The cluster reached --cluster.wait-for-size", metadata: ["cluster.size": "\(size)"])
            case .sizeWaitTimedOut(let size):
                logger.warning(
                    "Cluster did not reach --cluster.wait-for-size in time; scraping anyway",
                    metadata: ["cluster.size": "\(size)"])
            case .resolveSeeds:
                resolutionRequests.yield()
            case .stop:
                wakeup.signal()
            }
        }
        guard !changes.isEmpty || weightsChanged else { return }
        for change in changes { await record(change) }
        let ownership = state.withLock { state in
            state.tracker.update(timeline: state.lifecycle.membership.timeline, now: .wallClock)
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
            for change in changes { state.counters.ownershipChanges[Self.causeName(change.cause), default: 0] += 1 }
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
                case .rebalanced(let rebalance): (.rebalanced, "rebalanced: \(rebalance)")
                }
            let event = OwnershipEvent(
                time: now, effective: change.effective.milliseconds, target: change.target,
                labels: labels[change.target] ?? Labels(), previousOwner: change.previousOwner ?? "",
                newOwner: change.newOwner ?? "", cause: cause, detail: detail)
            await append(.ownership(event))
        }
    }

    /// The name a cause has in the WAL and in `agentd_ownership_changes_total`.
    static func causeName(_ cause: OwnershipChange.Cause) -> String {
        let event: OwnershipEvent.Cause =
            switch cause {
            case .memberJoined: .memberJoined
            case .memberLeft: .memberLeft
            case .memberDeclaredDead: .memberDead
            case .targetAdded: .targetAdded
            case .targetRemoved: .targetRemoved
            case .rebalanced: .rebalanced
            }
        return event.rawValue
    }

    /// The clustered targets each member owns now, by this member's view.
    var targetsOwned: [String: Int] {
        state.withLock { state in
            let now = ClusterTime.wallClock
            var owned: [String: Int] = [:]
            for key in state.clustered {
                for owner in state.tracker.owners(of: key, at: now) { owned[owner, default: 0] += 1 }
            }
            return owned
        }
    }

    /// Hands `event` to the task that appends the cluster's events; once `run` has ended,
    /// appends it here.
    private func append(_ event: Event) async {
        guard case .terminated = eventSink.yield(event) else { return }
        await appendNow(event)
    }

    private func appendNow(_ event: Event) async {
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

// MARK: Weights (`clustering { balance = "series" }`)

extension ClusterService: ScrapeObserver {
    func targetStarted(_ target: Scrape.ScrapeTarget, job: String) {
        state.withLock { $0.weights.ownerKeys[target.key] = target.ownerKey }
    }

    /// Measures a target balanced by series at each successful scrape, and hands the tick loop a
    /// publication when this measurement left the band around the agreed weight (or a published
    /// target is gone), at most once per ``weightPublicationInterval``. A target that drifted
    /// while publications were held back is looked at again at its next scrape: each scrape
    /// checks its own target only, not every measurement.
    func scraped(_ key: UInt64, report: ScrapeReport) {
        guard report.error == nil else { return }
        let due = state.withLock { state -> Bool in
            guard let ownerKey = state.weights.ownerKeys[key], state.weights.balanced.contains(ownerKey) else {
                return false
            }
            let measured = UInt64(report.samples)
            state.weights.measured[ownerKey] = measured
            if let at = state.weights.publishedAt, ContinuousClock.now - at < Self.weightPublicationInterval {
                return false
            }
            let agreed = state.tracker.latestWeights
            let drifted = SeriesBalance.published(agreed[ownerKey], measured: measured) != agreed[ownerKey]
            guard drifted || state.weights.publishedGone else { return false }
            // The whole map: every agreed weight carried forward, this member's measurements where
            // they left the band. A publication then never leaves a target without a weight.
            var weights = agreed.filter { state.weights.balanced.contains($0.key) }
            for (key, measured) in state.weights.measured {
                weights[key] = SeriesBalance.published(agreed[key], measured: measured)
            }
            state.weights.published = weights
            state.weights.publishedGone = false
            state.weights.publishedAt = .now
            state.weights.pending = weights
            return true
        }
        if due { wakeup.signal() }
    }

    func targetRemoved(_ key: UInt64) {
        state.withLock { state in
            if let ownerKey = state.weights.ownerKeys.removeValue(forKey: key) {
                state.weights.measured[ownerKey] = nil
            }
        }
    }

    /// Another member scrapes it now: its measurement is that member's to publish.
    func slotOwnedElsewhere(_ key: UInt64, slot: Int64) {
        state.withLock { state in
            guard let ownerKey = state.weights.ownerKeys[key] else { return }
            state.weights.measured[ownerKey] = nil
        }
    }
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
            rxPackets: counters.rxPackets, rxBytes: counters.rxBytes, txPackets: counters.txPackets,
            txBytes: counters.txBytes, sendFailures: counters.sendFailures, healthScore: healthScore,
            rejected: counters.rejected, nameConflicts: counters.nameConflicts, lateSlots: lateSlots,
            movedTargets: counters.movedTargets, clockSkewSeconds: clockSkew.mapValues(\.seconds),
            joinLookupFailures: counters.joinLookupFailures, ownershipChanges: counters.ownershipChanges,
            targetsOwned: targetsOwned)
    }
}
