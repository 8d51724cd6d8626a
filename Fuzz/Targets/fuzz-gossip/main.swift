import Cluster
import FuzzSupport

// The gossip codec and what a peer's bytes reach after it: `MessageCodec.decode` (with and
// without a shared secret), then the membership state machine handling the message, then its
// timers. An input is a sequence of messages, each a 2-byte little-endian length and that many
// bytes (the last one may be cut short), delivered 300 ms apart to one member. A message that
// decodes must encode and decode back to itself.

let clusterName = "fuzz"
let plain = MessageCodec(clusterName: clusterName, maximumMessageSize: 64 << 10)
let authenticated = MessageCodec(
    clusterName: clusterName, secret: Array("fuzz-secret".utf8), maximumMessageSize: 64 << 10)
let start = ClusterTime(seconds: 1_800_000_000)
let myself = Node(name: "fuzz-1", address: "127.0.0.1:12345")
let peers = [
    Node(name: "fuzz-2", address: "127.0.0.1:12346"),
    Node(name: "fuzz-3", address: "127.0.0.1:12347"),
]

/// A member record as gossip carries it.
func member(_ node: Node, incarnation: UInt64 = 1, liveness: Liveness = .alive, role: Role = .participant) -> Member {
    Member(
        node: node, incarnation: incarnation, liveness: liveness, reporters: liveness == .alive ? [] : [myself.name],
        history: [
            StateChange(role: .viewer, lamport: 1, effective: start - .seconds(60)),
            StateChange(role: role, lamport: 3, effective: start - .seconds(30)),
        ])
}

/// A member of a three-member cluster, all participants.
func freshMembership() -> Membership {
    var membership = Membership(node: myself, codec: plain, now: start - .seconds(60), seed: 1)
    membership.seed(with: [member(myself, incarnation: 0)] + peers.map { member($0) }, now: start - .seconds(60))
    _ = membership.becomeParticipant(now: start - .seconds(60))
    return membership
}

/// The messages of an input.
func split(_ input: UnsafeRawBufferPointer) -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var offset = 0
    while offset < input.count {
        var length = Int(input[offset])
        if offset + 1 < input.count { length |= Int(input[offset + 1]) << 8 }
        offset = min(offset + 2, input.count)
        let end = min(offset + length, input.count)
        messages.append(Array(input[offset..<end]))
        offset = end
    }
    return messages
}

/// The fuzz input for `messages`: what `split` takes apart.
func join(_ messages: [[UInt8]]) -> [UInt8] {
    messages.flatMap { [UInt8(truncatingIfNeeded: $0.count), UInt8(truncatingIfNeeded: $0.count >> 8)] + $0 }
}

func testOneInput(_ input: UnsafeRawBufferPointer) {
    var membership = freshMembership()
    var now = start
    for bytes in split(input) {
        _ = try? authenticated.decode(bytes)
        if let message = try? plain.decode(bytes) {
            let again = try? plain.decode(plain.encode(message))
            fuzzCheck(again == message, "\(message) encodes to bytes that decode to \(String(describing: again))")
        }
        _ = try? membership.receive(bytes, now: now)
        now = now + .milliseconds(300)
        _ = membership.onTick(now: now)
    }
    // Let every timer the messages may have set run out: probes, suspicions, gossip, push-pull.
    for _ in 0..<4 {
        now = now + .seconds(20)
        _ = membership.onTick(now: now)
    }
    _ = membership.leave(now: now)
    _ = membership.onTick(now: now + .seconds(10))
}

/// Real messages from a peer, as the codec encodes them.
func seeds() -> [FuzzDriver.Seed] {
    let sender = peers[0]
    func message(_ body: Message.Body, gossip: [Member] = [], sequence: UInt64 = 1) -> [UInt8] {
        plain.encode(Message(sender: sender, sequence: sequence, sentAt: start, body: body, gossip: gossip))
    }
    let newcomer = Node(name: "fuzz-4", address: "127.0.0.1:12348")
    return [
        FuzzDriver.Seed("ping", join([message(.ping(probe: 7, target: myself.name))])),
        FuzzDriver.Seed("ack", join([message(.ack(probe: 1), gossip: [member(peers[1])])])),
        FuzzDriver.Seed("nack", join([message(.nack(probe: 1))])),
        FuzzDriver.Seed("ping-request", join([message(.pingRequest(probe: 9, target: peers[1]))])),
        FuzzDriver.Seed(
            "push-pull-join",
            join([
                message(.pushPull(members: [member(newcomer, role: .viewer)], join: true, reply: false))
            ])),
        FuzzDriver.Seed(
            "push-pull-reply",
            join([
                message(
                    .pushPull(
                        members: [member(myself, incarnation: 0)] + peers.map { member($0) }, join: false, reply: true))
            ])),
        FuzzDriver.Seed(
            "suspect-me-then-dead",
            join([
                message(.gossip, gossip: [member(myself, incarnation: 0, liveness: .suspect)], sequence: 1),
                message(.gossip, gossip: [member(peers[1], incarnation: 1, liveness: .suspect)], sequence: 2),
                message(.gossip, gossip: [member(peers[1], incarnation: 1, liveness: .dead, role: .dead)], sequence: 3),
            ])),
        FuzzDriver.Seed(
            "leave",
            join([message(.gossip, gossip: [member(sender, incarnation: 2, liveness: .left, role: .terminating)])])),
        // Sent 2^63 ns away from the receiver's clock: trapped in the skew check once.
        FuzzDriver.Seed(
            "sent-time-far-away",
            join([
                plain.encode(
                    Message(
                        sender: sender, sequence: 1, sentAt: ClusterTime(nanoseconds: start.nanoseconds &+ Int64.min),
                        body: .ack(probe: 1)))
            ])),
        FuzzDriver.Seed(
            "tagged",
            join([
                authenticated.encode(
                    Message(sender: sender, sequence: 1, sentAt: start, body: .ack(probe: 1), gossip: [member(sender)]))
            ])),
    ]
}

/// libFuzzer's entry point (its own `main`, linked in but not used, refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput(fuzzInput(data, size))
    return 0
}

FuzzDriver.run(seeds: seeds, fuzzOneInput)
