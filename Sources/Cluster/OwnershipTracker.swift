/// Computes who owns each target at each nominal scrape slot and reports every change.
///
/// The scrape at slot `t_k = phase + k · interval` belongs to `owner(key, ring(t_k))`. The tracker
/// keeps, per target, the owner schedule it has announced (a piecewise-constant function of time
/// from the earliest slot it still tracks). When the membership timeline or the target set
/// changes, it recomputes the schedules and emits an ``OwnershipChange`` wherever the new schedule
/// differs from the announced one — including planned hand-offs effective in the future, and
/// corrections of plans that were cancelled. A change whose effective slot has already passed is
/// applied late: the slots between it and `now` are added to ``lateSlots``.
///
/// Targets balanced by series (``ScrapeTarget/Balance/series``) are placed by a ``SeriesBalance``
/// per epoch, over the weights the participants have published (``WeightHistory``): an epoch also
/// begins where a publication takes effect, so a weight that moves a target moves it at a planned
/// slot, as a join does.
public struct OwnershipTracker: Sendable {
    private struct Segment: Sendable, Hashable {
        var from: ClusterTime
        /// The target's owners from `from` on, in ring order (one unless it has replicas); empty: none.
        var owners: [String]
    }

    private struct Epoch: Sendable {
        var start: ClusterTime
        var ring: HashRing
        /// The placement of weighed targets, when any publication is in effect.
        var balance: SeriesBalance?
        /// The weights it was computed from.
        var weights: [UInt64: UInt64] = [:]
    }

    public let tokensPerMember: Int
    /// How far into the past schedules are kept, to detect changes applied late.
    public let retention: Duration
    /// Slots that were scraped by the wrong member (or not at all) because a change arrived after
    /// its effective time (`agentd_handoff_late_slots_total`).
    public private(set) var lateSlots = 0
    public private(set) var targets: [UInt64: ScrapeTarget] = [:]
    private var since: [UInt64: ClusterTime] = [:]
    private var schedules: [UInt64: [Segment]] = [:]
    private var timeline = MembershipTimeline([])
    private var epochs: [Epoch] = [Epoch(start: ClusterTime(nanoseconds: .min), ring: HashRing(members: []))]
    private var ringCache: [[String]: HashRing] = [:]
    private var weightHistory = WeightHistory()

    public init(tokensPerMember: Int = HashRing.defaultTokensPerMember, retention: Duration = .seconds(60)) {
        self.tokensPerMember = tokensPerMember
        self.retention = retention
    }

    // MARK: Queries

    /// The ring in effect at `time`.
    public func ring(at time: ClusterTime) -> HashRing {
        self.epochs[self.epochIndex(at: time)].ring
    }

    /// The owner of `key` at `time` (use a slot time): the first of its owners.
    public func owner(of key: UInt64, at time: ClusterTime) -> String? {
        self.owners(of: key, at: time).first
    }

    /// The owners of `key` at `time`, in ring order: as many distinct members as the target has
    /// replicas (one for a target the tracker does not know), or all of them when there are fewer.
    /// A target balanced by series has the one its epoch's ``SeriesBalance`` gives it, or its ring
    /// owner while no weight of it is in effect.
    public func owners(of key: UInt64, at time: ClusterTime) -> [String] {
        let epoch = self.epochs[self.epochIndex(at: time)]
        let target = self.targets[key]
        if target?.balance == .series, let owner = epoch.balance?.owner(of: key) { return [owner] }
        return epoch.ring.owners(of: key, count: target?.replicas ?? 1)
    }

    /// The published weight of `key` in effect at `time` (nil: none yet).
    public func weight(of key: UInt64, at time: ClusterTime) -> UInt64? {
        self.epochs[self.epochIndex(at: time)].weights[key]
    }

    /// Every published weight, the newest known (planned ones included).
    public var latestWeights: [UInt64: UInt64] { self.epochs.last!.weights }

    /// The series each member carries at `time` by the published weights (empty while none is
    /// in effect), and the bound of the members that share targets.
    public func seriesLoads(at time: ClusterTime) -> (loads: [String: UInt64], capacity: UInt64)? {
        self.epochs[self.epochIndex(at: time)].balance.map { ($0.loads, $0.capacity) }
    }

    // MARK: Inputs

    /// Adopts a new membership timeline and reports the ownership changes it causes.
    /// The members' weight publications (``Member/weights``) are taken from the timeline too.
    public mutating func update(timeline: MembershipTimeline, now: ClusterTime) -> [OwnershipChange] {
        let previous = self.timeline
        self.timeline = timeline
        self.weightHistory.add(timeline.members.compactMapValues(\.weights))
        self.weightHistory.prune(before: now - self.retention)
        self.rebuildEpochs()
        var changes: [OwnershipChange] = []
        for key in self.targets.keys.sorted() {
            changes += self.reschedule(key, now: now, previousTimeline: previous)
        }
        return changes
    }

    /// Replaces the target set and reports the targets added and removed.
    public mutating func setTargets(_ targets: some Sequence<ScrapeTarget>, now: ClusterTime) -> [OwnershipChange] {
        var next: [UInt64: ScrapeTarget] = [:]
        for target in targets { next[target.key] = target }
        var changes: [OwnershipChange] = []
        for key in self.targets.keys.sorted() where next[key] == nil {
            let target = self.targets[key]!
            let slot = target.firstSlot(atOrAfter: now)
            let owners = self.schedules[key].map { Self.value(of: $0, at: slot) } ?? []
            for owner in owners.isEmpty ? [nil] : owners.map(Optional.some) {
                changes.append(
                    OwnershipChange(
                        target: key, previousOwner: owner, newOwner: nil, effective: slot, cause: .targetRemoved))
            }
            self.targets[key] = nil
            self.schedules[key] = nil
            self.since[key] = nil
        }
        for key in next.keys.sorted() {
            if let existing = self.targets[key], existing == next[key] { continue }
            self.targets[key] = next[key]
            self.since[key] = next[key]!.firstSlot(atOrAfter: now)
            self.schedules[key] = []
            changes += self.reschedule(key, now: now, previousTimeline: self.timeline, added: true)
        }
        return changes
    }

    // MARK: Internals

    private mutating func rebuildEpochs() {
        var epochs = [
            Epoch(
                start: ClusterTime(nanoseconds: .min),
                ring: self.cachedRing(self.timeline.participants(at: ClusterTime(nanoseconds: .min))))
        ]
        let weighed = Set(self.weightHistory.changePoints)
        for point in Set(self.timeline.changePoints).union(weighed).sorted() {
            let ring = self.cachedRing(self.timeline.participants(at: point))
            let weights =
                self.weightHistory.isEmpty ? [:] : self.weightHistory.weights(at: point, publishers: Set(ring.members))
            guard ring.members != epochs.last!.ring.members || weights != epochs.last!.weights else { continue }
            let balance = weights.isEmpty ? nil : SeriesBalance(ring: ring, weights: weights)
            epochs.append(Epoch(start: point, ring: ring, balance: balance, weights: weights))
        }
        self.epochs = epochs
        if self.ringCache.count > 64 {
            // Keep the current epochs' rings; a participant set can recur among them (a member
            // joins and is declared dead: the set before and after is the same).
            self.ringCache = Dictionary(
                epochs.map { ($0.ring.members, $0.ring) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private mutating func cachedRing(_ members: [String]) -> HashRing {
        if let ring = self.ringCache[members] { return ring }
        let ring = HashRing(members: members, tokensPerMember: self.tokensPerMember)
        self.ringCache[members] = ring
        return ring
    }

    private func epochIndex(at time: ClusterTime) -> Int {
        var low = 0
        var high = self.epochs.count
        while low < high {
            let middle = (low + high) / 2
            if self.epochs[middle].start <= time { low = middle + 1 } else { high = middle }
        }
        return max(low - 1, 0)
    }

    private static func value(of schedule: [Segment], at time: ClusterTime) -> [String] {
        schedule.last { $0.from <= time }?.owners ?? []
    }

    /// The changes that turn the owners `old` into `new`: each owner that goes is paired with one
    /// that comes, in ring order; the unpaired go to or come from nobody. One change for a target
    /// without replicas, as before.
    private static func pairs(from old: [String], to new: [String]) -> [(String?, String?)] {
        let leaving = old.filter { !new.contains($0) }
        let coming = new.filter { !old.contains($0) }
        return (0..<max(leaving.count, coming.count)).map { index in
            (index < leaving.count ? leaving[index] : nil, index < coming.count ? coming[index] : nil)
        }
    }

    /// Recomputes one target's schedule and diffs it against the announced one.
    private mutating func reschedule(
        _ key: UInt64,
        now: ClusterTime,
        previousTimeline: MembershipTimeline,
        added: Bool = false
    ) -> [OwnershipChange] {
        guard let target = self.targets[key] else { return [] }
        let floor = max(self.since[key] ?? now, target.firstSlot(atOrAfter: now - self.retention))

        // The new schedule: the owner at the first slot after each epoch boundary.
        var points = [floor]
        for epoch in self.epochs where epoch.start > floor {
            points.append(target.firstSlot(atOrAfter: epoch.start))
        }
        var schedule: [Segment] = []
        for point in points {
            let owners = self.owners(of: key, at: point)
            if schedule.last?.owners != owners || schedule.isEmpty {
                if schedule.last?.from == point { schedule.removeLast() }
                if schedule.last?.owners != owners || schedule.isEmpty {
                    schedule.append(Segment(from: point, owners: owners))
                }
            }
        }

        // Diff against what was announced: emit wherever the believed owner differs.
        let old = self.schedules[key] ?? []
        var instants = Set(schedule.map(\.from))
        for segment in old where segment.from >= floor { instants.insert(segment.from) }
        var changes: [OwnershipChange] = []
        var changedAt: [ClusterTime] = []
        var emitted: (at: ClusterTime, owners: [String])?
        for instant in instants.sorted() {
            let oldStart = old.last { $0.from <= instant }?.from
            let believed: [String] =
                if let emitted, oldStart == nil || emitted.at >= oldStart! { emitted.owners } else {
                    Self.value(of: old, at: instant)
                }
            let wanted = Self.value(of: schedule, at: instant)
            guard believed != wanted else { continue }
            let isAdded = added && emitted == nil && old.isEmpty
            let moves = Self.pairs(from: believed, to: wanted)
            if !moves.isEmpty { changedAt.append(instant) }
            for (previous, next) in moves {
                let cause = self.cause(
                    of: key, from: previous, to: next, at: instant, added: isAdded, previousTimeline: previousTimeline)
                changes.append(
                    OwnershipChange(
                        target: key, previousOwner: previous, newOwner: next, effective: instant, cause: cause))
            }
            emitted = (instant, wanted)
        }
        for (index, instant) in changedAt.enumerated() where instant < now {
            let end = index + 1 < changedAt.count ? min(changedAt[index + 1], now) : now
            self.lateSlots += target.slotCount(from: instant, to: end)
        }

        // Keep the segment in effect at the floor and everything after it.
        let keepFrom = schedule.lastIndex { $0.from <= floor } ?? 0
        self.schedules[key] = Array(schedule[keepFrom...])
        return changes
    }

    private func cause(
        of key: UInt64, from previous: String?, to next: String?, at time: ClusterTime, added: Bool,
        previousTimeline: MembershipTimeline
    ) -> OwnershipChange.Cause {
        if added && previous == nil { return .targetAdded }
        let ring = self.ring(at: time)
        if let previous, !ring.members.contains(previous) {
            return self.departure(of: previous, at: time, previousTimeline: previousTimeline)
        }
        // The ring at the target's previous slot: `time` is its first slot after the boundary.
        let interval = self.targets[key]?.interval ?? .nanoseconds(1)
        let before = self.ring(at: time - interval).members
        if let previous, let next, before == ring.members, let balance = self.epochs[self.epochIndex(at: time)].balance
        {
            // Only weights changed here. On the target's ring walk, the member met first is the
            // one the explanation is about: the previous owner had no room for it any more, or
            // the new owner has room again.
            let first = ring.firstSuccessor(of: key) { $0 == previous || $0 == next }
            return .rebalanced(
                OwnershipChange.Rebalance(
                    member: first == previous ? previous : next, overBound: first == previous,
                    weight: self.weight(of: key, at: time), loads: balance.loads, capacity: balance.capacity))
        }
        if let next, !before.contains(next) { return .memberJoined(next) }
        // A target balanced by series can move between two members that stay when another joins
        // or goes: the membership change is the cause.
        if let joined = ring.members.first(where: { !before.contains($0) }) { return .memberJoined(joined) }
        if let gone = before.first(where: { !ring.members.contains($0) }) {
            return self.departure(of: gone, at: time, previousTimeline: previousTimeline)
        }
        if let next { return .memberJoined(next) }
        return .memberLeft(previous ?? "")
    }

    private func departure(of name: String, at time: ClusterTime, previousTimeline: MembershipTimeline)
        -> OwnershipChange.Cause
    {
        let member = self.timeline.members[name] ?? previousTimeline.members[name]
        if let member, member.role(at: time) == .dead || member.liveness == .dead {
            return .memberDeclaredDead(name, reporters: member.reporters)
        }
        return .memberLeft(name)
    }
}
