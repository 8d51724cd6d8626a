/// Computes who owns each target at each nominal scrape slot and reports every change.
///
/// The scrape at slot `t_k = phase + k · interval` belongs to `owner(key, ring(t_k))`. The tracker
/// keeps, per target, the owner schedule it has announced (a piecewise-constant function of time
/// from the earliest slot it still tracks). When the membership timeline or the target set
/// changes, it recomputes the schedules and emits an ``OwnershipChange`` wherever the new schedule
/// differs from the announced one — including planned hand-offs effective in the future, and
/// corrections of plans that were cancelled. A change whose effective slot has already passed is
/// applied late: the slots between it and `now` are added to ``lateSlots``.
public struct OwnershipTracker: Sendable {
    private struct Segment: Sendable, Hashable {
        var from: ClusterTime
        /// The target's owners from `from` on, in ring order (one unless it has replicas); empty: none.
        var owners: [String]
    }

    private struct Epoch: Sendable {
        var start: ClusterTime
        var ring: HashRing
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
        self.ring(at: time).owner(of: key)
    }

    /// The owners of `key` at `time`, in ring order: as many distinct members as the target has
    /// replicas (one for a target the tracker does not know), or all of them when there are fewer.
    public func owners(of key: UInt64, at time: ClusterTime) -> [String] {
        self.ring(at: time).owners(of: key, count: self.targets[key]?.replicas ?? 1)
    }

    /// The owner of the target's first slot at or after `time`.
    public func owner(of target: ScrapeTarget, atSlotAfter time: ClusterTime) -> String? {
        self.owner(of: target.key, at: target.firstSlot(atOrAfter: time))
    }

    // MARK: Inputs

    /// Adopts a new membership timeline and reports the ownership changes it causes.
    public mutating func update(timeline: MembershipTimeline, now: ClusterTime) -> [OwnershipChange] {
        let previous = self.timeline
        self.timeline = timeline
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
        for point in self.timeline.changePoints {
            let ring = self.cachedRing(self.timeline.participants(at: point))
            if ring.members != epochs.last!.ring.members { epochs.append(Epoch(start: point, ring: ring)) }
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
                    from: previous, to: next, at: instant, added: isAdded, previousTimeline: previousTimeline)
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
        from previous: String?, to next: String?, at time: ClusterTime, added: Bool,
        previousTimeline: MembershipTimeline
    ) -> OwnershipChange.Cause {
        if added && previous == nil { return .targetAdded }
        let ring = self.ring(at: time)
        if let previous, !ring.members.contains(previous) {
            let member = self.timeline.members[previous] ?? previousTimeline.members[previous]
            if let member, member.role(at: time) == .dead || member.liveness == .dead {
                return .memberDeclaredDead(previous, reporters: member.reporters)
            }
            return .memberLeft(previous)
        }
        if let next { return .memberJoined(next) }
        return .memberLeft(previous ?? "")
    }
}
