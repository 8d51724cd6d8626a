/// One member's life around its ``Membership``, as a pure, clock-injected state machine like the
/// membership itself: it joins through the seeds (retrying until one answers), announces itself
/// a participant once the join is answered, joins the seeds again periodically and when it finds
/// itself cut off, waits for the cluster to reach `--cluster.wait-for-size`, and leaves gracefully
/// within a time limit.
///
/// It owns the membership and passes every input on to it, so that a shell drives one machine
/// and sleeps for one schedule: every call returns the membership's directives, its own, and, as
/// the last one, a `.scheduleTick(after:)` for the earliest deadline of the two.
///
///     var lifecycle = ClusterLifecycle(membership: membership, settings: settings)
///     directives = lifecycle.join(seeds: ["10.0.0.2:12345"], now: now)   // once the port listens
///     directives = try lifecycle.receive(bytes, now: now)                 // a message arrived
///     directives = lifecycle.sendFailed(message, to: address, now: now)   // a message was not delivered
///     directives = lifecycle.onTick(now: now)                             // the scheduled tick fired
///     directives = lifecycle.leave(now: now, limit: .seconds(15))         // graceful shutdown → … `.stop`
///
/// The phases, with what moves a member from one to the next:
///
///     idle ─join─▶ joining ─announceAt─▶ participating ─leave─▶ leaving ─departed─▶ departed ─grace─▶ stopped
///                   │ (a seed answers: announceAt = now + announceDelay)   └──────────limit──────────────────▶ ┘
///                   └─leave─▶ leaving (as a viewer: it departs at once)
///
/// Beside the phase run the contact with the seeds (``SeedContact``) and the wait for the
/// cluster's size (``SizeWait``).
public struct ClusterLifecycle: Sendable {
    /// Where this member is in its life.
    public enum Phase: Sendable, Hashable {
        /// Created, not asked to join yet.
        case idle
        /// A viewer that announces itself a participant at `announceAt`: the join timeout at first,
        /// moved closer when a seed answers or every seed refused.
        case joining(announceAt: ClusterTime)
        /// Announced itself a participant.
        case participating
        /// Announced "terminating"; stops at `deadline` if it has not departed by then.
        case leaving(deadline: ClusterTime)
        /// Departed at its effective time; gossips that until `stopAt`.
        case departed(stopAt: ClusterTime)
        /// The leave is over: `.stop` was returned.
        case stopped
    }

    /// Where this member's contact with its seeds (the join addresses) stands.
    public enum SeedContact: Sendable, Hashable {
        /// Nothing to join: no seeds, not joining yet, or leaving.
        case none
        /// Sent the join `attempts` times, unanswered (and refused outright by the seeds in
        /// `refusedBy` this attempt); the next attempt is at `retryAt`.
        case unanswered(attempts: Int, retryAt: ClusterTime, refusedBy: Set<String>)
        /// A seed answered; the member joins again at `rejoinAt` (nil: rejoining is off).
        case answered(rejoinAt: ClusterTime?)
    }

    /// Whether the member still waits for the cluster to reach `--cluster.wait-for-size`.
    public enum SizeWait: Sendable, Hashable {
        /// Too few members yet; scraping starts anyway at `deadline` (nil: no deadline, or not
        /// joining yet).
        case waiting(deadline: ClusterTime?)
        /// The size was reached or the wait timed out.
        case over
    }

    public let settings: Settings
    /// The gossip membership this lifecycle drives.
    public private(set) var membership: Membership
    public private(set) var phase: Phase = .idle
    public private(set) var seedContact: SeedContact = .none
    public private(set) var sizeWait: SizeWait
    /// The join addresses, this member's own left out.
    public private(set) var seeds: [String] = []
    /// Whether this member has announced itself a participant (what `/-/ready` waits for).
    public private(set) var hasAnnounced = false
    /// Whether a `.resolveSeeds` is out and its answer not back yet.
    public private(set) var isResolvingSeeds = false

    public init(membership: Membership, settings: Settings = Settings()) {
        self.membership = membership
        self.settings = settings
        self.sizeWait = membership.clusterSize >= settings.waitForSize ? .over : .waiting(deadline: nil)
    }

    // MARK: Queries

    /// True until the cluster reached `--cluster.wait-for-size` or the wait timed out.
    public var isWaitingForSize: Bool { self.sizeWait != .over }

    /// True once the leave is over.
    public var hasStopped: Bool { self.phase == .stopped }

    /// When `onTick(now:)` is next due: the earliest deadline of the membership and of this lifecycle.
    public var nextTick: ClusterTime {
        var deadlines = [self.membership.nextTick]
        switch self.phase {
        case .joining(let announceAt): deadlines.append(announceAt)
        case .leaving(let deadline): deadlines.append(deadline)
        case .departed(let stopAt): deadlines.append(stopAt)
        case .idle, .participating, .stopped: break
        }
        switch self.seedContact {
        case .unanswered(_, let retryAt, _): deadlines.append(retryAt)
        case .answered(let rejoinAt?): deadlines.append(rejoinAt)
        case .answered(nil), .none: break
        }
        if case .waiting(let deadline?) = self.sizeWait { deadlines.append(deadline) }
        return deadlines.min()!
    }

    // MARK: Inputs

    /// Joins the cluster through `seeds` (addresses) and starts the wait for its size. Without
    /// seeds, the member announces itself after `announceDelay`: it starts a cluster.
    public mutating func join(seeds: [String], now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        guard self.phase == .idle else { return self.finish(now: now, &out) }
        self.seeds = self.ownLeftOut(seeds)
        if self.seeds.isEmpty && !self.settings.resolvesSeeds {
            self.phase = .joining(announceAt: now + self.settings.announceDelay)
        } else {
            self.phase = .joining(announceAt: now + self.settings.joinTimeout)
            self.sendJoin(attempt: 1, now: now, into: &out)
        }
        if case .waiting = self.sizeWait, self.settings.waitTimeout > .zero {
            self.sizeWait = .waiting(deadline: now + self.settings.waitTimeout)
        }
        return self.finish(now: now, &out)
    }

    /// The join addresses, looked up after a `.resolveSeeds`: the pending join, retry or rejoin
    /// goes to them. None at all (the names do not resolve, or only to this member) leaves nobody
    /// to wait for: a joining member announces itself after `announceDelay`, and its retries look
    /// the names up again.
    public mutating func seedsResolved(_ seeds: [String], now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        guard self.isResolvingSeeds else { return self.finish(now: now, &out) }
        self.isResolvingSeeds = false
        self.seeds = self.ownLeftOut(seeds)
        switch self.seedContact {
        case .none:
            break
        case .unanswered where self.seeds.isEmpty:
            self.announce(notAfter: now + self.settings.announceDelay)
        case .unanswered, .answered:
            out += self.membership.join(seeds: self.seeds, now: now)
        }
        return self.finish(now: now, &out)
    }

    /// Decodes, authenticates and handles a message (see ``Membership/receive(_:now:)``). A
    /// push-pull reply answers the join.
    ///
    /// - Throws: ``MessageRejection``; state is then unchanged.
    public mutating func receive(_ bytes: [UInt8], now: ClusterTime) throws(MessageRejection) -> [Directive] {
        let message = try self.membership.codec.decode(bytes)
        var out = try self.membership.onMessage(message, now: now)
        if case .pushPull(_, _, reply: true) = message.body { self.joinAnswered(now: now) }
        return self.finish(now: now, &out)
    }

    /// Publishes this member's target weights (``Membership/publishWeights(_:now:)``).
    public mutating func publishWeights(_ weights: [UInt64: UInt64], now: ClusterTime) -> [Directive] {
        var out = self.membership.publishWeights(weights, now: now)
        return self.finish(now: now, &out)
    }

    /// A message could not be delivered (the connection failed, or the peer refused it). A join
    /// that every seed refused leaves nobody to wait for: the member announces itself after
    /// `announceDelay` instead of the join timeout, and its retries will find the others.
    public mutating func sendFailed(_ message: Message, to address: String, now: ClusterTime) -> [Directive] {
        var out: [Directive] = []
        if case .pushPull(_, join: true, _) = message.body, self.seeds.contains(address),
            case .unanswered(let attempts, let retryAt, var refusedBy) = self.seedContact
        {
            refusedBy.insert(address)
            self.seedContact = .unanswered(attempts: attempts, retryAt: retryAt, refusedBy: refusedBy)
            if refusedBy.count == self.seeds.count { self.announce(notAfter: now + self.settings.announceDelay) }
        }
        return self.finish(now: now, &out)
    }

    /// Runs whatever is due: the membership's tick, then the announcement, join retries and
    /// rejoins, the end of the wait for size, and the end of a leave.
    public mutating func onTick(now: ClusterTime) -> [Directive] {
        var out = self.membership.onTick(now: now)
        switch self.phase {
        case .joining(let announceAt) where now >= announceAt:
            out += self.membership.becomeParticipant(now: now)
            self.phase = .participating
            self.hasAnnounced = true
            if self.isAloneUnanswered, case .unanswered(let attempts, let retryAt, let refusedBy) = self.seedContact {
                let soon = now + self.settings.isolatedJoinRetryDelay
                self.seedContact = .unanswered(attempts: attempts, retryAt: min(retryAt, soon), refusedBy: refusedBy)
            }
        case .leaving(let deadline) where now >= deadline && !out.contains(.departed):
            self.phase = .stopped
            out.append(.stop)
        case .departed(let stopAt) where now >= stopAt:
            self.phase = .stopped
            out.append(.stop)
        default:
            break
        }
        switch self.seedContact {
        case .unanswered(let attempts, let retryAt, _) where now >= retryAt:
            self.sendJoin(attempt: attempts + 1, now: now, into: &out)
        case .answered(let rejoinAt?) where now >= rejoinAt:
            self.joinSeeds(now: now, into: &out)
            self.seedContact = .answered(rejoinAt: now + self.settings.rejoinInterval)
        default:
            break
        }
        if case .waiting(let deadline?) = self.sizeWait, now >= deadline {
            self.sizeWait = .over
            out.append(.sizeWaitTimedOut(clusterSize: self.membership.clusterSize))
        }
        return self.finish(now: now, &out)
    }

    /// Starts a graceful leave (see ``Membership/leave(now:)``): the member stops joining, departs
    /// at its effective time, gossips its departure for `departureGrace`, and returns `.stop`; or
    /// returns `.stop` at `now + limit` if it has not departed by then. A member that never
    /// joined stops at once.
    public mutating func leave(now: ClusterTime, limit: Duration) -> [Directive] {
        var out: [Directive] = []
        switch self.phase {
        case .idle:
            self.phase = .stopped
            out.append(.stop)
        case .joining, .participating:
            out = self.membership.leave(now: now)
            self.phase = .leaving(deadline: now + limit)
            self.seedContact = .none
        case .leaving, .departed, .stopped:
            break
        }
        return self.finish(now: now, &out)
    }

    // MARK: Internals

    private mutating func sendJoin(attempt: Int, now: ClusterTime, into out: inout [Directive]) {
        self.joinSeeds(now: now, into: &out)
        var delay = self.settings.joinRetryDelay(after: attempt)
        if self.isIsolated || self.isAloneUnanswered { delay = min(delay, self.settings.isolatedJoinRetryDelay) }
        self.seedContact = .unanswered(attempts: attempt, retryAt: now + delay, refusedBy: [])
    }

    /// Joins the seeds, or first asks for them to be looked up again.
    private mutating func joinSeeds(now: ClusterTime, into out: inout [Directive]) {
        guard self.settings.resolvesSeeds else {
            out += self.membership.join(seeds: self.seeds, now: now)
            return
        }
        if !self.isResolvingSeeds {
            self.isResolvingSeeds = true
            out.append(.resolveSeeds)
        }
    }

    private func ownLeftOut(_ seeds: [String]) -> [String] {
        var unique: Set<String> = []
        return seeds.filter { $0 != self.membership.myself.address && unique.insert($0).inserted }
    }

    private mutating func joinAnswered(now: ClusterTime) {
        guard case .unanswered = self.seedContact else { return }
        let rejoin = self.settings.rejoinInterval > .zero ? now + self.settings.rejoinInterval : nil
        self.seedContact = .answered(rejoinAt: rejoin)
        self.announce(notAfter: now + self.settings.announceDelay)
    }

    /// Brings a pending announcement forward to `time`.
    private mutating func announce(notAfter time: ClusterTime) {
        guard case .joining(let announceAt) = self.phase else { return }
        self.phase = .joining(announceAt: min(announceAt, time))
    }

    /// After every input: notes a departure, the cluster's size and a lost cluster, then appends
    /// the one schedule in place of the membership's.
    private mutating func finish(now: ClusterTime, _ out: inout [Directive]) -> [Directive] {
        if case .leaving = self.phase, out.contains(.departed) {
            self.phase = .departed(stopAt: now + self.settings.departureGrace)
        }
        if case .waiting = self.sizeWait, self.membership.clusterSize >= self.settings.waitForSize {
            self.sizeWait = .over
            out.append(.sizeReached(clusterSize: self.membership.clusterSize))
        }
        if self.isIsolated, case .answered = self.seedContact {
            // Every other member was declared dead: look for the cluster through the seeds again,
            // from the first retry delay, rather than at the next rejoin.
            self.seedContact = .unanswered(
                attempts: 0, retryAt: now + self.settings.joinRetryDelay(after: 0), refusedBy: [])
        }
        out.removeAll { if case .scheduleTick = $0 { true } else { false } }
        out.append(.scheduleTick(after: max(self.nextTick - now, .zero)))
        return out
    }

    /// Announced itself alone because no seed answered in time (an overloaded seed, or the others
    /// not started yet): its retries keep at most `isolatedJoinRetryDelay` apart, so that it merges
    /// with the cluster (and stops scraping everything) soon after a seed can answer.
    private var isAloneUnanswered: Bool {
        guard self.phase == .participating, self.membership.clusterSize == 1 else { return false }
        if case .unanswered = self.seedContact { return true }
        return false
    }

    /// Alone, with others declared dead (not merely left), while rejoining is on and the member
    /// is not leaving: it lost contact with the cluster.
    private var isIsolated: Bool {
        guard self.settings.rejoinInterval > .zero, self.membership.clusterSize == 1 else { return false }
        switch self.phase {
        case .joining, .participating: break
        case .idle, .leaving, .departed, .stopped: return false
        }
        return self.membership.members.values.contains { $0.liveness == .dead }
    }
}
