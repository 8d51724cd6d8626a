/// Dissemination: merging member updates (SWIM's precedence rules), push-pull, gossip rounds,
/// reconnection after partitions, and the graceful leave.
extension Membership {
    /// Merges one member update heard from `sender`.
    mutating func merge(_ update: Member, from sender: String, now: ClusterTime, into out: inout [Directive]) {
        for change in update.history { self.lamport = max(self.lamport, change.lamport) }
        if update.name == self.myself.name {
            self.mergeAboutSelf(update, from: sender, now: now, into: &out)
            return
        }
        guard var known = self.members[update.name] else {
            // Dead strangers are not worth learning; anyone else has joined.
            guard !update.liveness.isDown else { return }
            self.store(update)
            if update.liveness == .suspect { self.startSuspicion(of: update, now: now) }
            self.broadcasts.enqueue(update)
            out.append(.membershipChanged(self.change(.joined, update, learnedFrom: sender, now: now)))
            if update.weights != nil { out.append(.weightsChanged(update.name)) }
            for change in update.history where change.role != .dead {
                out.append(
                    .membershipChanged(
                        self.change(
                            .roleChanged(change), update, lamport: change.lamport, learnedFrom: sender, now: now)))
            }
            return
        }

        var rejoined = false
        if known.node.address != update.node.address {
            // A name moves to another address only after its previous holder died or left.
            guard known.liveness.isDown, update.liveness == .alive else {
                if !update.liveness.isDown {
                    self.reportConflict(known: known.node, claimed: update.node, from: sender, into: &out)
                }
                return
            }
            known.node = update.node
            known.incarnation = update.incarnation
            known.liveness = .alive
            known.reporters = []
            rejoined = true
        }

        var changed = rejoined
        let before = known.history
        if known.history.merge(update.history, limit: self.settings.historyLimit) {
            changed = true
            for change in known.history where !before.contains(change) && change.role != .dead {
                out.append(
                    .membershipChanged(
                        self.change(.roleChanged(change), known, lamport: change.lamport, learnedFrom: sender, now: now)
                    ))
            }
        }

        let newer =
            update.incarnation > known.incarnation
            || (update.incarnation == known.incarnation && update.liveness.precedence > known.liveness.precedence)
        if rejoined {
            self.suspicions[known.name] = nil
            self.downSince[known.name] = nil
            out.append(.membershipChanged(self.change(.joined, known, learnedFrom: sender, now: now)))
        } else if newer && !(known.liveness.isDown && update.liveness != .alive) {
            let previous = known.liveness
            let previousIncarnation = known.incarnation
            known.incarnation = update.incarnation
            known.liveness = update.liveness
            known.reporters = update.reporters
            changed = true
            switch update.liveness {
            case .alive:
                self.suspicions[known.name] = nil
                self.downSince[known.name] = nil
                if previous != .alive {
                    out.append(
                        .membershipChanged(
                            self.change(previous == .suspect ? .refuted : .joined, known, learnedFrom: sender, now: now)
                        ))
                }
            case .suspect:
                // A suspicion of a newer incarnation is a new suspicion: the member refuted the
                // old one (even if we missed the refutation), so its timer starts afresh.
                if previous == .suspect, update.incarnation == previousIncarnation,
                    var suspicion = self.suspicions[known.name]
                {
                    for reporter in update.reporters { suspicion.confirm(by: reporter) }
                    self.suspicions[known.name] = suspicion
                    known.reporters = suspicion.reporters
                } else {
                    self.startSuspicion(of: known, now: now)
                    out.append(.membershipChanged(self.change(.suspected, known, learnedFrom: sender, now: now)))
                }
            case .dead, .left:
                self.suspicions[known.name] = nil
                self.downSince[known.name] = now
                let kind: MembershipChange.Kind = update.liveness == .dead ? .declaredDead : .left
                out.append(.membershipChanged(self.change(kind, known, learnedFrom: sender, now: now)))
            }
        } else if update.incarnation == known.incarnation && update.liveness == known.liveness
            && update.liveness != .alive
        {
            // The same suspicion or death reported by others: Lifeguard's independent confirmations.
            for reporter in update.reporters where !known.reporters.contains(reporter) {
                known.reporters.append(reporter)
                if update.liveness == .suspect { self.suspicions[known.name]?.confirm(by: reporter) }
                changed = true
            }
            known.reporters = Array(known.reporters.prefix(MessageCodec.maximumReporters))
        } else if update.liveness != .alive && update.incarnation < known.incarnation
            && !self.corrections.contains(known)
        {
            // The sender spreads a suspicion or death the member already refuted.
            self.corrections.append(known)
        }

        if let weights = update.weights, weights.version > known.weights?.version ?? 0 {
            known.weights = weights
            changed = true
            out.append(.weightsChanged(known.name))
        }

        if changed {
            self.store(known)
            self.broadcasts.enqueue(known)
        }
    }

    /// What others say about this node: refute suspicions and deaths by raising the
    /// incarnation, and re-announce the current role when an older life's history outranks it.
    private mutating func mergeAboutSelf(
        _ update: Member, from sender: String, now: ClusterTime, into out: inout [Directive]
    ) {
        if update.node.address != self.myself.address && !update.liveness.isDown {
            self.reportConflict(known: self.myself, claimed: update.node, from: sender, into: &out)
            return
        }
        guard !self.hasDeparted else { return }
        var me = self.selfMember
        var changed = false

        if update.liveness != .alive && update.incarnation < self.incarnation {
            // An accusation already refuted: tell the sender, who evidently missed the refutation.
            self.corrections.append(me)
        }
        let doubted = update.liveness != .alive && update.incarnation >= self.incarnation
        if doubted || update.incarnation > self.incarnation {
            self.incarnation = update.incarnation + 1
            me.incarnation = self.incarnation
            me.reporters = []
            if doubted {
                self.health.apply(1)
                out.append(.membershipChanged(self.change(.refuted, me, learnedFrom: sender, now: now)))
            }
            changed = true
        }

        let foreign = update.history.filter { !me.history.contains($0) }
        if !foreign.isEmpty {
            me.history.merge(foreign, limit: self.settings.historyLimit)
            changed = true
            if foreign.contains(where: { $0.lamport >= self.ownRole.lamport }) {
                // Entries from a previous life (or a death) outrank our current role: announce it
                // again with a newer Lamport time; a participant comes back through a planned hand-off,
                // unless this life was participating all along (below).
                let firstDeath = foreign.filter { $0.role == .dead }.map(\.effective).min()
                let wasDeclaredDead = firstDeath != nil
                let effective: ClusterTime =
                    switch self.ownRole.role {
                    case .participant where firstDeath.map { self.ownRole.effective <= $0 } ?? false:
                        // Declared dead while this very life was a participant (a partition, a pause,
                        // lost probes): it never stopped, so the death is taken back from its own
                        // instant. Coming back through planned hand-offs instead would, after a
                        // partition heals, put every member out of the ring at once (each side
                        // declared the other dead) and leave targets unscraped until the effective
                        // times. Whoever took this member's targets gives them back at its next slot.
                        firstDeath!
                    case .participant where wasDeclaredDead || self.ownRole.effective < now:
                        self.settings.handoff.effectiveTime(now: now, clusterSize: self.clusterSize)
                    case .terminating where self.ownRole.effective > now: self.ownRole.effective
                    default: now
                    }
                let change = StateChange(role: self.ownRole.role, lamport: self.tickLamport(), effective: effective)
                self.ownRole = change
                me.history.merge([change], limit: self.settings.historyLimit)
                out.append(.membershipChanged(self.change(.roleChanged(change), me, lamport: change.lamport, now: now)))
            }
        }

        if changed {
            self.store(me)
            self.broadcasts.enqueue(me)
        }
        if doubted {
            // Answer the accusers directly rather than waiting for gossip to reach them.
            var accusers = Array(update.reporters.prefix(self.settings.gossipNodes))
            if !accusers.contains(sender) { accusers.append(sender) }
            for name in accusers where name != self.myself.name {
                guard let address = self.members[name]?.node.address else { continue }
                self.send(.gossip, to: address, about: nil, now: now, into: &out)
            }
        }
    }

    private mutating func reportConflict(known: Node, claimed: Node, from sender: String, into out: inout [Directive]) {
        let key = "\(claimed.name)@\(claimed.address)"
        guard self.reportedConflicts.insert(key).inserted else { return }
        out.append(
            .nameConflict(
                NameConflict(
                    name: known.name, knownAddress: known.address, conflictingAddress: claimed.address,
                    learnedFrom: sender)
            )
        )
    }

    mutating func onPushPull(
        members: [Member], reply: Bool, from sender: Node, now: ClusterTime, into out: inout [Directive]
    ) {
        for member in members { self.merge(member, from: sender.name, now: now, into: &out) }
        guard !reply else { return }
        let state = self.otherNames.compactMap { self.members[$0] } + [self.selfMember]
        self.send(
            .pushPull(members: state, join: false, reply: true), to: sender.address, about: nil, now: now, into: &out)
    }

    /// One gossip round: queued updates to `gossipNodes` random members, including members dead
    /// for less than `gossipToTheDeadTime` so that a wrongly declared member hears it and refutes.
    mutating func gossip(now: ClusterTime, into out: inout [Directive]) {
        guard !self.broadcasts.isEmpty else { return }
        let deadline = now - self.settings.gossipToTheDeadTime
        let downSince = self.downSince
        let targets = self.randomMembers(count: self.settings.gossipNodes, excluding: []) { member in
            !member.liveness.isDown || (member.liveness == .dead && (downSince[member.name] ?? .zero) > deadline)
        }
        for target in targets {
            guard !self.broadcasts.isEmpty else { break }
            self.send(.gossip, to: target.node.address, about: target.name, now: now, into: &out)
        }
    }

    mutating func pushPull(now: ClusterTime, into out: inout [Directive]) {
        guard let target = self.randomMembers(count: 1, excluding: [], where: { $0.liveness == .alive }).first else {
            return
        }
        let state = self.otherNames.compactMap { self.members[$0] } + [self.selfMember]
        self.send(
            .pushPull(members: state, join: false, reply: false), to: target.node.address, about: nil, now: now,
            into: &out)
    }

    /// Serf's reconnect: a push-pull with a random dead member heals a partition once it is gone.
    mutating func reconnect(now: ClusterTime, into out: inout [Directive]) {
        guard let target = self.randomMembers(count: 1, excluding: [], where: { $0.liveness == .dead }).first else {
            return
        }
        let body = Message.Body.pushPull(members: [self.selfMember], join: false, reply: false)
        self.send(body, to: target.node.address, about: nil, now: now, into: &out)
    }

    /// The end of a graceful leave: mark this node left and tell a few members right away.
    mutating func depart(now: ClusterTime, into out: inout [Directive]) {
        var me = self.selfMember
        me.liveness = .left
        self.store(me)
        self.hasDeparted = true
        self.pendingProbe = nil
        self.suspicions = [:]
        self.relays = [:]
        self.broadcasts.enqueue(me)
        out.append(.membershipChanged(self.change(.left, me, now: now)))
        let targets = self.randomMembers(count: self.settings.gossipNodes, excluding: []) { !$0.liveness.isDown }
        for target in targets {
            self.send(.gossip, to: target.node.address, about: nil, now: now, into: &out)
        }
        out.append(.departed)
    }
}
