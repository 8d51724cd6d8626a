import Testing

@testable import Cluster

/// Three members wired by hand over a fake clock; messages move only when a test moves them.
struct Trio {
    static let start = ClusterTime(seconds: 1_800_000_000)
    static let codec = MessageCodec(clusterName: "test", secret: Array("secret".utf8))
    var members: [String: Membership] = [:]
    var now = Trio.start

    init(names: [String] = ["a", "b", "c"]) {
        let records = names.map {
            Member(
                node: Node(name: $0, address: "\($0):1"),
                incarnation: 0,
                liveness: .alive,
                history: [StateChange(role: .participant, lamport: 1, effective: .zero)]
            )
        }
        for (index, record) in records.enumerated() {
            var membership = Membership(node: record.node, codec: Self.codec, now: Self.start, seed: UInt64(index))
            membership.seed(with: records, now: Self.start)
            self.members[record.name] = membership
        }
    }

    /// Sends of `directives` addressed to `name`, as encoded bytes.
    static func sends(_ directives: [Directive], to name: String) -> [Message] {
        directives.compactMap {
            if case .send(let message, let address) = $0, address == "\(name):1" { message } else { nil }
        }
    }

    static func changes(_ directives: [Directive]) -> [MembershipChange] {
        directives.compactMap { if case .membershipChanged(let change) = $0 { change } else { nil } }
    }

    /// Delivers every message in `directives` addressed to `name`; returns what `name` answered.
    mutating func deliver(_ directives: [Directive], to name: String) throws -> [Directive] {
        var answers: [Directive] = []
        for message in Self.sends(directives, to: name) {
            answers += try self.members[name]!.receive(Self.codec.encode(message), now: self.now)
        }
        return answers
    }

    /// Ticks `name` at `now` until it sends a ping; returns the directives of that tick.
    mutating func tickUntilPing(_ name: String, to target: String) -> [Directive] {
        for _ in 0..<40 {
            self.now = self.now + .milliseconds(100)
            let directives = self.members[name]!.onTick(now: self.now)
            if Self.sends(directives, to: target).contains(where: { if case .ping = $0.body { true } else { false } }) {
                return directives
            }
        }
        Issue.record("\(name) never pinged \(target)")
        return []
    }

    mutating func tick(_ name: String, after delay: Duration) -> [Directive] {
        self.now = self.now + delay
        return self.members[name]!.onTick(now: self.now)
    }
}

@Suite struct MembershipTests {
    @Test func aProbeAnsweredWithAnAckRaisesNoSuspicion() throws {
        var trio = Trio()
        let ping = trio.tickUntilPing("a", to: "b")
        let ack = try trio.deliver(ping, to: "b")
        #expect(Trio.sends(ack, to: "a").contains { if case .ack = $0.body { true } else { false } })
        _ = try trio.deliver(ack, to: "a")
        let later = trio.tick("a", after: .milliseconds(600))
        #expect(Trio.changes(later).isEmpty)
        #expect(trio.members["a"]!.members["b"]!.liveness == .alive)
    }

    @Test func anUnansweredProbeGoesIndirectAndARelayedAckSavesTheTarget() throws {
        var trio = Trio()
        _ = trio.tickUntilPing("a", to: "b")  // lost
        let timeout = trio.tick("a", after: .milliseconds(260))
        let requests = Trio.sends(timeout, to: "c")
        #expect(
            requests.contains { if case .pingRequest(_, let target) = $0.body { target.name == "b" } else { false } })
        let relayedPing = try trio.deliver(timeout, to: "c")
        let ack = try trio.deliver(relayedPing, to: "b")
        let relayedAck = try trio.deliver(ack, to: "c")
        _ = try trio.deliver(relayedAck, to: "a")
        let end = trio.tick("a", after: .milliseconds(300))
        #expect(Trio.changes(end).isEmpty)
        #expect(trio.members["a"]!.members["b"]!.liveness == .alive)
    }

    @Test func aFailedProbeSuspectsTheTargetAndTheTargetRefutesWithAHigherIncarnation() throws {
        var trio = Trio()
        _ = trio.tickUntilPing("a", to: "b")
        _ = trio.tick("a", after: .milliseconds(260))  // ping requests to c, lost
        let failed = trio.tick("a", after: .milliseconds(300))
        let suspected = try #require(Trio.changes(failed).first)
        #expect(suspected.kind == .suspected && suspected.member.name == "b" && suspected.reporters == ["a"])
        // Lifeguard: the nack c never sent counts against a's own health.
        #expect(trio.members["a"]!.health.score == 1)

        // The buddy system: the suspector tells b at once, b's suspicion first.
        let toB = try #require(Trio.sends(failed, to: "b").first)
        #expect(toB.gossip.first?.name == "b" && toB.gossip.first?.liveness == .suspect)
        let answer = try trio.deliver(failed, to: "b")
        #expect(trio.members["b"]!.incarnation == 1)
        #expect(Trio.changes(answer).contains { $0.kind == .refuted && $0.member.name == "b" })
        let refuted = try trio.deliver(answer, to: "a")
        #expect(Trio.changes(refuted).contains { $0.kind == .refuted && $0.incarnation == 1 })
        #expect(trio.members["a"]!.members["b"]!.liveness == .alive)
    }

    @Test func aMemberSpreadingAnAlreadyRefutedSuspicionIsAnsweredWithTheNewerRecord() throws {
        var trio = Trio()
        var refuted = trio.members["b"]!.selfMember
        refuted.incarnation = 1
        let fromB = Message(
            sender: Node(name: "b", address: "b:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [refuted])
        _ = try trio.deliver([.send(fromB, to: "a:1")], to: "a")
        var stale = refuted
        stale.incarnation = 0
        stale.liveness = .suspect
        stale.reporters = ["c"]
        let fromC = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [stale])
        let answer = try trio.deliver([.send(fromC, to: "a:1")], to: "a")
        let correction = try #require(Trio.sends(answer, to: "c").first)
        #expect(correction.gossip.first { $0.name == "b" }?.incarnation == 1)
        #expect(trio.members["a"]!.members["b"]!.liveness == .alive)
    }

    @Test func anUnrefutedSuspicionEndsInDeathNamingItsReporters() throws {
        var trio = Trio()
        _ = trio.tickUntilPing("a", to: "b")
        _ = trio.tick("a", after: .milliseconds(260))
        let failed = trio.tick("a", after: .milliseconds(300))
        // c confirms independently: the suspicion shrinks from 3 s to its 1 s minimum.
        _ = try trio.deliver(
            [
                .send(
                    Message(
                        sender: Node(name: "a", address: "a:1"), sequence: 1, sentAt: trio.now, body: .gossip,
                        gossip: [trio.members["a"]!.members["b"]!]), to: "c:1")
            ], to: "c")
        _ = failed
        var confirmation = trio.members["c"]!.members["b"]!
        confirmation.reporters = ["c"]
        let gossip = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 2, sentAt: trio.now, body: .gossip,
            gossip: [confirmation])
        _ = try trio.deliver([.send(gossip, to: "a:1")], to: "a")
        var declared: MembershipChange?
        var elapsed = Duration.zero
        while declared == nil && elapsed < .seconds(4) {
            elapsed += .milliseconds(100)
            declared = Trio.changes(trio.tick("a", after: .milliseconds(100))).first { $0.kind == .declaredDead }
        }
        let death = try #require(declared)
        #expect(death.member.name == "b")
        #expect(death.reporters == ["a", "c"])
        #expect(elapsed <= .milliseconds(1100))
        let b = trio.members["a"]!.members["b"]!
        #expect(b.liveness == .dead)
        #expect(b.role(at: trio.now) == .dead)
        #expect(!trio.members["a"]!.timeline.participants(at: trio.now).contains("b"))
    }

    /// What `member` says of itself, as gossip from it.
    private func selfNews(_ member: Membership, at now: ClusterTime) -> Message {
        Message(sender: member.selfMember.node, sequence: 9, sentAt: now, body: .gossip, gossip: [member.selfMember])
    }

    /// a's verdict that b is dead, as gossip from a.
    private func deathOfB(_ trio: Trio, effective: ClusterTime) -> Message {
        var dead = trio.members["a"]!.members["b"]!
        dead.liveness = .dead
        dead.reporters = ["a"]
        dead.history.append(StateChange(role: .dead, lamport: 5, effective: effective))
        return Message(
            sender: Node(name: "a", address: "a:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [dead])
    }

    @Test func aMemberDeclaredDeadWhileParticipatingTakesTheDeathBackFromItsInstant() throws {
        // A partition or a pause: b was a participant all along, so the death never happened.
        var trio = Trio()
        let declared = trio.now
        trio.now = trio.now + .seconds(5)
        let news = deathOfB(trio, effective: declared)
        _ = try trio.deliver([.send(news, to: "c:1")], to: "c")
        #expect(!trio.members["c"]!.timeline.participants(at: trio.now).contains("b"))
        let answer = try trio.deliver([.send(news, to: "b:1")], to: "b")
        let b = trio.members["b"]!
        #expect(b.incarnation == 1)
        #expect(b.announcedRole.role == .participant && b.announcedRole.lamport > 5)
        #expect(b.announcedRole.effective == declared)
        #expect(Trio.changes(answer).contains { $0.kind == .refuted })

        // c learns b is back: alive again and in the ring from the instant it was declared dead,
        // so nothing of b's waits for a hand-off (after a partition, nobody would scrape it meanwhile).
        let seen = try trio.deliver([.send(selfNews(b, at: trio.now), to: "c:1")], to: "c")
        #expect(Trio.changes(seen).contains { $0.kind == .joined && $0.incarnation == 1 })
        let timeline = trio.members["c"]!.timeline
        #expect(timeline.participants(at: declared).contains("b"))
        #expect(timeline.participants(at: trio.now).contains("b"))
    }

    @Test func aMemberDeclaredDeadBeforeThisLifeParticipatedRejoinsThroughAPlannedHandoff() throws {
        // b announces itself anew (as a restarted member does), and a declared its previous life dead.
        var trio = Trio()
        _ = trio.members["b"]!.becomeParticipant(now: trio.now)
        let announced = trio.members["b"]!.announcedRole
        #expect(announced.effective > trio.now)
        let news = deathOfB(trio, effective: trio.now)
        _ = try trio.deliver([.send(news, to: "c:1")], to: "c")
        let answer = try trio.deliver([.send(news, to: "b:1")], to: "b")
        let b = trio.members["b"]!
        #expect(b.incarnation == 1)
        #expect(b.announcedRole.role == .participant && b.announcedRole.lamport > 5)
        #expect(b.announcedRole.effective > trio.now)
        #expect(Trio.changes(answer).contains { $0.kind == .refuted })

        // c learns b is back: alive again, yet outside the ring until the planned effective time.
        let seen = try trio.deliver([.send(selfNews(b, at: trio.now), to: "c:1")], to: "c")
        #expect(Trio.changes(seen).contains { $0.kind == .joined && $0.incarnation == 1 })
        let timeline = trio.members["c"]!.timeline
        #expect(!timeline.participants(at: trio.now).contains("b"))
        #expect(timeline.participants(at: b.announcedRole.effective).contains("b"))
    }

    @Test func aGracefulLeaveTerminatesAtItsEffectiveTimeThenDeparts() throws {
        var trio = Trio()
        let announced = trio.members["b"]!.leave(now: trio.now)
        let terminating = try #require(Trio.changes(announced).first)
        guard case .roleChanged(let change) = terminating.kind else {
            Issue.record("expected a role change")
            return
        }
        #expect(change.role == .terminating)
        #expect(change.effective > trio.now && change.effective.nanoseconds % 1_000_000_000 == 0)
        var departed: [Directive] = []
        while !departed.contains(.departed) {
            departed = trio.tick("b", after: .milliseconds(100))
            #expect(trio.now <= change.effective)
        }
        #expect(trio.members["b"]!.selfMember.liveness == .left)
        let timeline = trio.members["b"]!.timeline
        #expect(timeline.participants(at: change.effective - .milliseconds(1)).contains("b"))
        #expect(!timeline.participants(at: change.effective).contains("b"))
        // Whoever hears it records the leave.
        let heard = try trio.deliver(departed, to: "a") + trio.deliver(departed, to: "c")
        #expect(Trio.changes(heard).contains { $0.kind == .left && $0.member.name == "b" })
    }

    @Test func theLatestLamportTimeWinsWhateverTheOrderChangesArrive() {
        let changes = [
            StateChange(role: .participant, lamport: 3, effective: ClusterTime(seconds: 10)),
            StateChange(role: .viewer, lamport: 1, effective: ClusterTime(seconds: 0)),
            StateChange(role: .terminating, lamport: 7, effective: ClusterTime(seconds: 20)),
        ]
        var forward: [StateChange] = []
        var backward: [StateChange] = []
        for change in changes { forward.merge([change], limit: 8) }
        for change in changes.reversed() { backward.merge([change], limit: 8) }
        #expect(forward == backward)
        #expect(forward.role(at: ClusterTime(seconds: 5)) == .viewer)
        #expect(forward.role(at: ClusterTime(seconds: 15)) == .participant)
        #expect(forward.role(at: ClusterTime(seconds: 20)) == .terminating)
    }

    @Test func hearingALaterLamportTimeAdvancesTheClockBeforeTheNextChange() throws {
        var trio = Trio()
        var c = trio.members["c"]!.members["c"]!
        c.history.append(StateChange(role: .participant, lamport: 40, effective: trio.now))
        let gossip = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [c])
        _ = try trio.deliver([.send(gossip, to: "a:1")], to: "a")
        #expect(trio.members["a"]!.lamport >= 40)
        _ = trio.members["a"]!.leave(now: trio.now)
        #expect(trio.members["a"]!.announcedRole.lamport > 40)
    }

    @Test func aSecondLiveMemberClaimingANameIsReportedAndIgnored() throws {
        var trio = Trio()
        let impostor = Member(node: Node(name: "b", address: "elsewhere:1"), incarnation: 9, liveness: .alive)
        let gossip = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [impostor])
        let directives = try trio.deliver([.send(gossip, to: "a:1")], to: "a")
        #expect(
            directives.contains(
                .nameConflict(
                    NameConflict(name: "b", knownAddress: "b:1", conflictingAddress: "elsewhere:1", learnedFrom: "c"))))
        #expect(trio.members["a"]!.members["b"]!.node.address == "b:1")
        #expect(trio.members["a"]!.members["b"]!.incarnation == 0)
        // About itself: b reports the impostor too.
        let aboutSelf = try trio.deliver([.send(gossip, to: "b:1")], to: "b")
        #expect(aboutSelf.contains { if case .nameConflict(let conflict) = $0 { conflict.name == "b" } else { false } })
    }

    @Test func rejectedMessagesChangeNothing() throws {
        var trio = Trio()
        let before = trio.members["a"]!.members
        let dead = Member(node: Node(name: "b", address: "b:1"), incarnation: 3, liveness: .dead)
        let message = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 1, sentAt: trio.now, body: .gossip, gossip: [dead])
        let forged = MessageCodec(clusterName: "test", secret: Array("guess".utf8)).encode(message)
        #expect(throws: MessageRejection.authenticationFailed(sender: "c")) {
            try trio.members["a"]!.receive(forged, now: trio.now)
        }
        let foreign = MessageCodec(clusterName: "other", secret: Array("secret".utf8)).encode(message)
        #expect(throws: MessageRejection.clusterMismatch(expected: "test", received: "other")) {
            try trio.members["a"]!.receive(foreign, now: trio.now)
        }
        var malformed = Trio.codec.encode(message)
        malformed.removeLast(40)
        #expect(throws: MessageRejection.self) { try trio.members["a"]!.receive(malformed, now: trio.now) }
        #expect(trio.members["a"]!.members == before)
    }

    @Test func aReplayedOrStaleMessageIsRejected() throws {
        var trio = Trio()
        let message = Message(
            sender: Node(name: "c", address: "c:1"), sequence: 77, sentAt: trio.now, body: .ack(probe: 1))
        let bytes = Trio.codec.encode(message)
        _ = try trio.members["a"]!.receive(bytes, now: trio.now)
        #expect(throws: MessageRejection.replayed(sender: "c", sequence: 77)) {
            try trio.members["a"]!.receive(bytes, now: trio.now)
        }
        // Out of order within the window is fine; far behind is not.
        _ = try trio.members["a"]!.receive(
            Trio.codec.encode(Message(sender: message.sender, sequence: 200, sentAt: trio.now, body: .ack(probe: 1))),
            now: trio.now)
        _ = try trio.members["a"]!.receive(
            Trio.codec.encode(Message(sender: message.sender, sequence: 190, sentAt: trio.now, body: .ack(probe: 1))),
            now: trio.now)
        #expect(throws: MessageRejection.replayed(sender: "c", sequence: 100)) {
            try trio.members["a"]!.receive(
                Trio.codec.encode(
                    Message(sender: message.sender, sequence: 100, sentAt: trio.now, body: .ack(probe: 1))),
                now: trio.now)
        }
        let old = Message(sender: message.sender, sequence: 500, sentAt: trio.now - .seconds(60), body: .ack(probe: 1))
        #expect(throws: MessageRejection.stale(sender: "c", skew: .seconds(-60))) {
            try trio.members["a"]!.receive(Trio.codec.encode(old), now: trio.now)
        }
    }

    @Test func aNodesOwnMessagePlayedBackToItIsRejectedAndChangesNothing() throws {
        var trio = Trio()
        // What "a" itself sent (captured on the wire), played back to it.
        let own = Message(sender: Node(name: "a", address: "a:1"), sequence: 5, sentAt: trio.now, body: .ack(probe: 1))
        let before = trio.members["a"]!.members
        #expect(throws: MessageRejection.fromSelf(sequence: 5)) {
            try trio.members["a"]!.receive(Trio.codec.encode(own), now: trio.now)
        }
        #expect(trio.members["a"]!.members == before)
        #expect(MessageRejection.fromSelf(sequence: 5).label == "self")
    }

    @Test func aMessageFromAnotherAddressUnderThisNodesNameIsRefusedAsANameConflict() throws {
        var trio = Trio()
        let impostor = Message(
            sender: Node(name: "a", address: "elsewhere:1"), sequence: 1, sentAt: trio.now, body: .ack(probe: 1))
        let before = trio.members["a"]!.members
        let holder = trio.members["a"]!.myself.address
        #expect(throws: MessageRejection.nameTaken(name: "a", holder: holder, claimant: "elsewhere:1")) {
            try trio.members["a"]!.receive(Trio.codec.encode(impostor), now: trio.now)
        }
        #expect(trio.members["a"]!.members == before)
        #expect(MessageRejection.nameTaken(name: "a", holder: holder, claimant: "elsewhere:1").label == "name_conflict")
    }
}
