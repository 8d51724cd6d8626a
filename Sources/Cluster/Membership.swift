import Primitives

/// The gossip membership of one node as a pure, clock-injected state machine: SWIM with
/// suspicion and incarnation numbers, Lifeguard's local health, piggybacked dissemination and
/// periodic push-pull (as hashicorp/memberlist), plus grafana/ckit's roles with Lamport times.
///
/// It never sleeps, sends or reads a clock: every input is a `mutating func` taking `now`, and
/// every output is a ``Directive`` for the shell to carry out (send a message, schedule the next
/// tick, log a change). Each call returns a `.scheduleTick(after:)` as its last directive.
///
///     var membership = Membership(node: me, codec: codec, now: clock.now)
///     directives = membership.join(seeds: ["10.0.0.2:12345"], now: clock.now)
///     directives = try membership.receive(bytes, now: clock.now)   // a message arrived
///     directives = membership.onTick(now: clock.now)               // the scheduled tick fired
public struct Membership: Sendable {
    public let settings: MembershipSettings
    /// Encodes outgoing and decodes incoming messages (cluster name, authentication).
    public let codec: MessageCodec
    /// This node.
    public internal(set) var myself: Node
    /// This node's incarnation (raised to refute suspicions).
    public internal(set) var incarnation: UInt64 = 0
    /// This node's Lamport clock.
    public internal(set) var lamport: UInt64 = 0
    /// Every known member by name, this node included.
    public internal(set) var members: [String: Member] = [:]
    /// Lifeguard's local health of this node.
    public internal(set) var health: LocalHealth
    /// The clock offset of each member measured from ping round trips (their clock − ours).
    public internal(set) var clockSkew: [String: Duration] = [:]
    /// Whether this node has completed a graceful leave.
    public internal(set) var hasDeparted = false

    var random: SplitMix64
    var sequence: UInt64
    var probeSequence: UInt64 = 0
    var probeOrder: [String] = []
    var probeIndex = 0
    var pendingProbe: PendingProbe?
    var relays: [UInt64: Relay] = [:]
    var suspicions: [String: Suspicion] = [:]
    var broadcasts = BroadcastQueue()
    var replayWindows: [String: ReplayWindow] = [:]
    /// When this node learned that a member went down (for gossip to the dead).
    var downSince: [String: ClusterTime] = [:]
    var reportedConflicts: Set<String> = []
    /// Newer records to send back to the sender of the message being handled, which spread
    /// outdated suspicions or deaths (anti-entropy: a refutation nobody repeats would be lost).
    var corrections: [Member] = []
    /// Members alive or suspect, this node included (kept up to date by `store`).
    var liveCount = 1
    /// The names of all other known members, sorted (for random choices).
    var otherNames: [String] = []
    /// This node's latest own role change (its intended role).
    var ownRole: StateChange
    var leavingAt: ClusterTime?
    var nextProbeAt: ClusterTime
    var nextGossipAt: ClusterTime
    var nextPushPullAt: ClusterTime
    var nextReconnectAt: ClusterTime

    struct PendingProbe: Sendable {
        var probe: UInt64
        var target: Node
        var startedAt: ClusterTime
        var indirectAt: ClusterTime
        var deadline: ClusterTime
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    struct Relay: Sendable {
        var requester: Node
        var probe: UInt64
        var nackAt: ClusterTime
        var expiresAt: ClusterTime
        var nackSent = false
    }

    /// Creates the membership of `node`, alone and a viewer until it joins and becomes a participant.
    ///
    /// - Parameter seed: Seeds the random choices (probe order, indirect probers, gossip targets).
    public init(
        node: Node,
        settings: MembershipSettings = MembershipSettings(),
        codec: MessageCodec,
        now: ClusterTime,
        seed: UInt64 = UInt64.random(in: .min ... .max)
    ) {
        self.settings = settings
        self.codec = codec
        self.myself = node
        self.health = LocalHealth(maximumMultiplier: settings.awarenessMaxMultiplier)
        self.random = SplitMix64(seed: seed ^ XXH64.hash(node.name))
        // Sequence numbers start from the wall clock so they keep increasing across restarts.
        self.sequence = UInt64(max(now.nanoseconds, 0))
        self.lamport = 1
        self.ownRole = StateChange(role: .viewer, lamport: 1, effective: now)
        self.members[node.name] = Member(node: node, incarnation: 0, liveness: .alive, history: [self.ownRole])
        // Spread the first probes of members started together over one interval.
        let jitter = Duration.nanoseconds(Int64(self.random.next() % UInt64(settings.probeInterval.nanoseconds)))
        self.nextProbeAt = now + jitter
        self.nextGossipAt = now + settings.gossipInterval
        self.nextPushPullAt = now + settings.pushPullInterval
        self.nextReconnectAt = now + settings.reconnectInterval
    }

    // MARK: Queries

    /// This node's own record.
    public var selfMember: Member { self.members[self.myself.name]! }

    /// The number of members that are alive or suspect, this node included.
    public var clusterSize: Int { self.liveCount }

    /// The role history of every known member, for ring and ownership computations.
    public var timeline: MembershipTimeline { MembershipTimeline(self.members.values) }

    /// The role this node last announced.
    public var announcedRole: StateChange { self.ownRole }

    // MARK: Requests from the shell

    /// Joins the cluster through `seeds` (addresses): sends each a push-pull with everything this
    /// node knows, as memberlist's join does. A new member knows only itself; one joining again
    /// after an isolation also tells the seeds whom it declared dead, so that a member restarted
    /// meanwhile refutes in its answer.
    public mutating func join(seeds: [String], now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        let state = self.otherNames.compactMap { self.members[$0] } + [self.selfMember]
        for seed in seeds where seed != self.myself.address {
            let body = Message.Body.pushPull(members: state, join: true, reply: false)
            self.send(body, to: seed, about: nil, now: now, into: &out)
        }
        return self.finish(now: now, &out)
    }

    /// Announces "participant from `eff`", with `eff` chosen by the hand-off planner.
    public mutating func becomeParticipant(now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        let effective = self.settings.handoff.effectiveTime(now: now, clusterSize: self.clusterSize)
        self.announce(.participant, effective: effective, now: now, into: &out)
        return self.finish(now: now, &out)
    }

    /// Announces "terminating from `eff`"; at `eff` the node marks itself left, gossips it, and
    /// returns ``Directive/departed``.
    public mutating func leave(now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        if self.leavingAt == nil && !self.hasDeparted {
            let effective: ClusterTime =
                self.ownRole.role == .participant
                ? self.settings.handoff.effectiveTime(now: now, clusterSize: self.clusterSize) : now
            self.announce(.terminating, effective: effective, now: now, into: &out)
            self.leavingAt = effective
        }
        return self.finish(now: now, &out)
    }

    /// Publishes this node's target weights (`balance = "series"`), effective after the hand-off
    /// delay like a join, and gossips them; returns ``Directive/weightsChanged(_:)`` for the shell
    /// to recompute ownership.
    public mutating func publishWeights(_ weights: [UInt64: UInt64], now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        var me = self.selfMember
        me.weights = WeightPublication(
            version: max((me.weights?.version ?? 0) + 1, UInt64(max(now.nanoseconds, 1))),
            effective: self.settings.handoff.effectiveTime(now: now, clusterSize: self.clusterSize),
            weights: weights)
        self.store(me)
        self.broadcasts.enqueue(me)
        out.append(.weightsChanged(me.name))
        return self.finish(now: now, &out)
    }

    /// Installs `members` as already known, without gossiping them: for simulations and tests
    /// that start from an agreed cluster.
    public mutating func seed(with members: [Member], now: ClusterTime) {
        for member in members {
            for change in member.history { self.lamport = max(self.lamport, change.lamport) }
            if member.name == self.myself.name {
                var me = self.selfMember
                me.history = member.history
                self.ownRole = me.history.latest ?? self.ownRole
                self.store(me)
            } else {
                self.store(member)
            }
        }
        self.rebuildProbeOrder()
    }

    // MARK: Inputs

    /// Decodes, authenticates and handles a message received from the transport.
    ///
    /// - Throws: ``MessageRejection`` when the message is malformed, oversized, from another
    ///   cluster, unauthenticated, replayed or stale; state is then unchanged.
    public mutating func receive(_ bytes: [UInt8], now: ClusterTime) throws(MessageRejection) -> [Directive] {
        let message = try self.codec.decode(bytes)
        return try self.onMessage(message, now: now)
    }

    /// Handles a decoded message after the replay and clock checks.
    public mutating func onMessage(_ message: Message, now: ClusterTime) throws(MessageRejection) -> [Directive] {
        if message.sender.name == self.myself.name {
            guard message.sender.address == self.myself.address else {
                throw .nameTaken(name: self.myself.name, holder: self.myself.address, claimant: message.sender.address)
            }
            throw .fromSelf(sequence: message.sequence)
        }
        let skew = message.sentAt - now
        // `magnitude`, not `abs`: a sent time about 2^63 ns from now makes the skew Int64.min.
        guard skew.nanoseconds.magnitude <= self.settings.maximumClockSkew.nanoseconds.magnitude else {
            throw .stale(sender: message.sender.name, skew: skew)
        }
        try self.checkReplay(message)

        var out: [Directive] = []
        for member in message.gossip {
            self.merge(member, from: message.sender.name, now: now, into: &out)
        }
        switch message.body {
        case .ping(let probe, let target):
            self.onPing(probe: probe, target: target, from: message.sender, now: now, into: &out)
        case .ack(let probe):
            self.onAck(probe: probe, from: message, now: now, into: &out)
        case .nack(let probe):
            self.onNack(probe: probe)
        case .pingRequest(let probe, let target):
            self.onPingRequest(probe: probe, target: target, from: message.sender, now: now, into: &out)
        case .pushPull(let members, _, let reply):
            self.onPushPull(members: members, reply: reply, from: message.sender, now: now, into: &out)
        case .gossip:
            break
        }
        if !self.corrections.isEmpty {
            let corrections = self.corrections
            self.corrections = []
            self.send(.gossip, to: message.sender.address, about: nil, leading: corrections, now: now, into: &out)
        }
        return self.finish(now: now, &out)
    }

    /// Runs whatever is due: probe timeouts and new probes, relayed-probe nacks, suspicion
    /// timeouts, gossip, push-pull, reconnection, and the end of a graceful leave.
    public mutating func onTick(now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        if let leavingAt = self.leavingAt, now >= leavingAt, !self.hasDeparted {
            self.depart(now: now, into: &out)
        }
        if !self.hasDeparted {
            self.runProbe(now: now, into: &out)
            self.runRelays(now: now, into: &out)
            self.runSuspicions(now: now, into: &out)
            self.forgetDeparted(now: now, into: &out)
        }
        if now >= self.nextGossipAt {
            self.gossip(now: now, into: &out)
            self.nextGossipAt = now + self.settings.gossipInterval
        }
        if !self.hasDeparted, now >= self.nextPushPullAt {
            self.pushPull(now: now, into: &out)
            self.nextPushPullAt = now + self.settings.pushPullInterval(clusterSize: self.clusterSize)
        }
        if !self.hasDeparted, now >= self.nextReconnectAt {
            self.reconnect(now: now, into: &out)
            self.nextReconnectAt = now + self.settings.reconnectInterval
        }
        return self.finish(now: now, &out)
    }

    // MARK: Helpers

    /// Forgets the members dead or departed for longer than `deadMemberRetention`. Records of
    /// them that others still gossip are not taken back in: down strangers are not learned.
    mutating func forgetDeparted(now: ClusterTime, into out: inout [Directive]) {
        let deadline = now - self.settings.deadMemberRetention
        for (name, since) in self.downSince where since <= deadline {
            self.downSince[name] = nil
            guard let member = self.members[name], member.liveness.isDown, name != self.myself.name else { continue }
            self.members[name] = nil
            self.otherNames.removeAll { $0 == name }
            self.suspicions[name] = nil
            self.replayWindows[name] = nil
            self.clockSkew[name] = nil
            self.reportedConflicts = self.reportedConflicts.filter { !$0.hasPrefix(name + "@") }
            out.append(.forgotten(member.node))
        }
    }

    /// Stores a member's record, keeping the live count and the name list current.
    mutating func store(_ member: Member) {
        let previous = self.members.updateValue(member, forKey: member.name)
        if previous == nil || previous!.liveness.isDown { self.liveCount += member.liveness.isDown ? 0 : 1 }
        if let previous, !previous.liveness.isDown, member.liveness.isDown { self.liveCount -= 1 }
        if previous == nil && member.name != self.myself.name {
            let index = self.otherNames.firstIndex { $0 > member.name } ?? self.otherNames.endIndex
            self.otherNames.insert(member.name, at: index)
        }
    }

    mutating func tickLamport() -> UInt64 {
        self.lamport += 1
        return self.lamport
    }

    /// Records a new own role change and gossips it.
    mutating func announce(_ role: Role, effective: ClusterTime, now: ClusterTime, into out: inout [Directive]) {
        let change = StateChange(role: role, lamport: self.tickLamport(), effective: effective)
        self.ownRole = change
        var me = self.selfMember
        me.history.merge([change], limit: self.settings.historyLimit)
        self.store(me)
        self.broadcasts.enqueue(me)
        out.append(.membershipChanged(self.change(.roleChanged(change), me, lamport: change.lamport, now: now)))
    }

    func change(
        _ kind: MembershipChange.Kind,
        _ member: Member,
        lamport: UInt64? = nil,
        learnedFrom: String? = nil,
        now: ClusterTime
    ) -> MembershipChange {
        MembershipChange(
            kind: kind,
            member: member.node,
            incarnation: member.incarnation,
            lamport: lamport ?? self.lamport,
            reporters: member.reporters,
            learnedFrom: learnedFrom ?? self.myself.name,
            observedAt: now
        )
    }

    /// Builds a message, piggybacking queued updates; when `about` names a suspect member, its
    /// suspicion goes first (Lifeguard's buddy system) so that it can refute at once.
    mutating func send(
        _ body: Message.Body,
        to address: String,
        about target: String?,
        leading: [Member] = [],
        now: ClusterTime,
        into out: inout [Directive]
    ) {
        self.sequence += 1
        var gossip = leading
        var budget = self.settings.maximumGossipBytes
        for member in leading { budget -= MessageCodec.encodedSize(of: member) }
        if let target, let member = self.members[target], member.liveness == .suspect {
            gossip.append(member)
            budget -= MessageCodec.encodedSize(of: member)
        }
        if case .pushPull = body {
            budget = 0
        }
        gossip += self.broadcasts.take(
            budget: budget,
            transmitLimit: self.settings.retransmitLimit(clusterSize: self.clusterSize),
            excluding: gossip.count > leading.count ? target : nil
        )
        let message = Message(sender: self.myself, sequence: self.sequence, sentAt: now, body: body, gossip: gossip)
        out.append(.send(message, to: address))
    }

    mutating func checkReplay(_ message: Message) throws(MessageRejection) {
        let sender = message.sender.name
        if var window = self.replayWindows[sender] {
            guard window.accept(message.sequence) else {
                throw .replayed(sender: sender, sequence: message.sequence)
            }
            self.replayWindows[sender] = window
        } else {
            if self.replayWindows.count >= 4 * max(self.members.count, 256) {
                self.replayWindows = self.replayWindows.filter { self.members[$0.key] != nil }
            }
            self.replayWindows[sender] = ReplayWindow(first: message.sequence)
        }
    }

    /// When `onTick(now:)` is next due: the earliest of the probe, relay, suspicion, gossip,
    /// push-pull, reconnect and leave deadlines.
    public var nextTick: ClusterTime {
        var next = self.nextGossipAt
        if !self.hasDeparted {
            next = min(next, self.nextProbeAt, self.nextPushPullAt, self.nextReconnectAt)
            if let probe = self.pendingProbe {
                next = min(next, probe.indirectSent ? probe.deadline : probe.indirectAt)
            }
            for relay in self.relays.values {
                next = min(next, relay.nackSent ? relay.expiresAt : relay.nackAt)
            }
            for suspicion in self.suspicions.values { next = min(next, suspicion.deadline) }
            if let leavingAt = self.leavingAt { next = min(next, leavingAt) }
        }
        return next
    }

    /// Appends the next tick's schedule.
    mutating func finish(now: ClusterTime, _ out: inout [Directive]) -> [Directive] {
        out.append(.scheduleTick(after: max(self.nextTick - now, .zero)))
        return out
    }
}
