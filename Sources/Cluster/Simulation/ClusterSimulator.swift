import Primitives

/// A deterministic, in-process simulation of a cluster running the real ``Membership`` state
/// machine over a virtual clock and a seeded, lossy network: messages are encoded and decoded
/// with the real codec, delayed, dropped, or cut by partitions; members can crash, be slow,
/// join and leave.
///
/// Everything random comes from the seed, so a run is reproducible.
public final class ClusterSimulator {
    /// One simulated member.
    public struct Peer {
        public var membership: Membership
        /// Stopped members neither receive nor tick.
        public var isRunning = true
        /// Extra delay before this member handles anything it receives (a loaded host).
        public var slowness: Duration = .zero
        var tickAt: ClusterTime?
        /// The partition group; messages only flow within a group.
        var group = 0
    }

    private enum Event {
        case tick(Int)
        case deliver(to: Int, bytes: [UInt8])
    }

    public let settings: MembershipSettings
    public var conditions: NetworkConditions
    public private(set) var now: ClusterTime
    public private(set) var peers: [Peer] = []
    /// Messages and bytes sent, rejected messages received.
    public private(set) var messagesSent = 0
    public private(set) var bytesSent = 0
    public private(set) var rejections: [MessageRejection] = []
    /// Called for every membership change a member observes: (observer index, change).
    public var onChange: ((Int, MembershipChange) -> Void)?
    /// Called for every message sent: (sender index, receiver index if any, message, delivered).
    public var onSend: ((Int, Int?, Message, Bool) -> Void)?
    /// Called for every name conflict a member reports.
    public var onConflict: ((Int, NameConflict) -> Void)?

    private var events = EventQueue<Event>()
    private var random: SplitMix64
    private var indexByAddress: [String: Int] = [:]
    private let codec: MessageCodec
    private let seed: UInt64

    /// Creates `size` members named `agentd-0`…; when `bootstrapped`, they start as an agreed
    /// cluster of participants (no join traffic), otherwise each is alone until `join` is called.
    public init(
        size: Int,
        settings: MembershipSettings = MembershipSettings(),
        conditions: NetworkConditions = .lossyLAN,
        seed: UInt64 = 1,
        start: ClusterTime = ClusterTime(seconds: 1_800_000_000),
        codec: MessageCodec = MessageCodec(clusterName: "sim"),
        bootstrapped: Bool = true
    ) {
        self.settings = settings
        self.conditions = conditions
        self.now = start
        self.random = SplitMix64(seed: seed)
        self.codec = codec
        self.seed = seed
        for index in 0..<size { self.addPeer(index: index) }
        if bootstrapped {
            let members = self.peers.map { peer in
                Member(
                    node: peer.membership.myself,
                    incarnation: 0,
                    liveness: .alive,
                    history: [StateChange(role: .participant, lamport: 1, effective: .zero)]
                )
            }
            for index in self.peers.indices {
                self.peers[index].membership.seed(with: members, now: start)
                self.apply(self.peers[index].membership.onTick(now: start), from: index)
            }
        } else {
            for index in self.peers.indices {
                self.apply(self.peers[index].membership.onTick(now: start), from: index)
            }
        }
    }

    public static func name(of index: Int) -> String { "agentd-\(index)" }
    public static func address(of index: Int) -> String { "sim-\(index):12345" }

    private func addPeer(index: Int) {
        let node = Node(name: Self.name(of: index), address: Self.address(of: index))
        let membership = Membership(
            node: node,
            settings: self.settings,
            codec: self.codec,
            now: self.now,
            seed: self.seed &* 0x9E37_79B9 &+ UInt64(index)
        )
        self.indexByAddress[node.address] = index
        self.peers.append(Peer(membership: membership))
    }

    // MARK: Driving

    /// Runs until the virtual clock reaches `end`.
    public func run(until end: ClusterTime) {
        while let next = self.events.nextTime, next <= end {
            let (time, event) = self.events.pop()!
            self.now = time
            switch event {
            case .tick(let index):
                guard self.peers[index].isRunning, self.peers[index].tickAt == time else { continue }
                self.peers[index].tickAt = nil
                self.apply(self.peers[index].membership.onTick(now: time), from: index)
            case .deliver(let index, let bytes):
                guard self.peers[index].isRunning else { continue }
                do {
                    let directives = try self.peers[index].membership.receive(bytes, now: time)
                    self.apply(directives, from: index)
                } catch {
                    self.rejections.append(error)
                }
            }
        }
        self.now = max(self.now, end)
    }

    /// Runs for `duration` of virtual time.
    public func run(for duration: Duration) {
        self.run(until: self.now + duration)
    }

    /// Runs until `condition` holds (checked every `step`) or `limit` passes; returns whether it held.
    @discardableResult
    public func run(until condition: (ClusterSimulator) -> Bool, step: Duration = .milliseconds(50), limit: Duration)
        -> Bool
    {
        let end = self.now + limit
        while self.now < end {
            if condition(self) { return true }
            self.run(until: min(self.now + step, end))
        }
        return condition(self)
    }

    // MARK: Faults and requests

    /// Crashes a member: it stops at once, without a word.
    public func kill(_ index: Int) {
        self.peers[index].isRunning = false
    }

    /// Makes a member handle everything it receives `delay` late.
    public func setSlowness(_ delay: Duration, of index: Int) {
        self.peers[index].slowness = delay
    }

    /// Splits the members into groups that cannot reach each other (the rest form group 0).
    public func partition(_ groups: [[Int]]) {
        for index in self.peers.indices { self.peers[index].group = 0 }
        for (group, members) in groups.enumerated() {
            for index in members { self.peers[index].group = group + 1 }
        }
    }

    /// Heals every partition.
    public func heal() {
        self.partition([])
    }

    /// Starts a graceful leave of a member.
    public func leave(_ index: Int) {
        self.apply(self.peers[index].membership.leave(now: self.now), from: index)
    }

    /// Makes a member join through the given seeds.
    public func join(_ index: Int, through seeds: [Int]) {
        let directives = self.peers[index].membership.join(seeds: seeds.map(Self.address(of:)), now: self.now)
        self.apply(directives, from: index)
    }

    /// Makes a member announce itself a participant.
    public func becomeParticipant(_ index: Int) {
        self.apply(self.peers[index].membership.becomeParticipant(now: self.now), from: index)
    }

    /// Adds a new, unjoined member and returns its index.
    public func addMember() -> Int {
        self.addPeer(index: self.peers.count)
        let index = self.peers.count - 1
        self.apply(self.peers[index].membership.onTick(now: self.now), from: index)
        return index
    }

    // MARK: Observations

    /// The liveness of `member` as seen by `observer`.
    public func liveness(of member: Int, seenBy observer: Int) -> Liveness? {
        self.peers[observer].membership.members[Self.name(of: member)]?.liveness
    }

    /// The running members.
    public var running: [Int] { self.peers.indices.filter { self.peers[$0].isRunning } }

    /// Whether every running member sees every running member up (alive, or suspected but not
    /// declared dead: under message loss some suspicion is always being refuted) and every
    /// stopped member dead (or left, or unknown).
    public var agrees: Bool {
        let running = Set(self.running)
        for observer in running {
            for member in self.peers.indices where member != observer {
                let seen = self.liveness(of: member, seenBy: observer)
                if running.contains(member) {
                    guard let seen, !seen.isDown else { return false }
                } else if let seen, !seen.isDown {
                    return false
                }
            }
        }
        return true
    }

    // MARK: Directives

    private func apply(_ directives: [Directive], from index: Int) {
        for directive in directives {
            switch directive {
            case .send(let message, let address):
                let bytes = self.peers[index].membership.codec.encode(message)
                self.messagesSent += 1
                self.bytesSent += bytes.count
                guard let target = self.indexByAddress[address] else {
                    self.onSend?(index, nil, message, false)
                    continue
                }
                let lost = Double(self.random.next() >> 11) / Double(1 << 53) < self.conditions.lossRate
                let delivered = !lost && self.peers[target].group == self.peers[index].group
                self.onSend?(index, target, message, delivered)
                guard delivered else { continue }
                let span = (self.conditions.maximumDelay - self.conditions.minimumDelay).nanoseconds
                let jitter = span > 0 ? Int64(self.random.next() % UInt64(span)) : 0
                let delay = self.conditions.minimumDelay + .nanoseconds(jitter) + self.peers[target].slowness
                self.events.push(.deliver(to: target, bytes: bytes), at: self.now + delay)
            case .scheduleTick(let delay):
                let time = self.now + delay
                if let pending = self.peers[index].tickAt, pending <= time, pending >= self.now { continue }
                self.peers[index].tickAt = time
                self.events.push(.tick(index), at: time)
            case .membershipChanged(let change):
                self.onChange?(index, change)
            case .nameConflict(let conflict):
                self.onConflict?(index, conflict)
            case .departed:
                // As agentd does once its graceful leave is complete: it stops.
                self.peers[index].isRunning = false
            case .sizeReached, .sizeWaitTimedOut, .stop, .resolveSeeds, .forgotten, .weightsChanged:
                break
            }
        }
    }
}
