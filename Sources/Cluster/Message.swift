/// One gossip message: a header identifying the sender, a body, and piggybacked member updates.
///
/// The cluster name and the authentication tag are added and checked by ``MessageCodec``; the
/// `sequence` and `sentAt` fields let the receiver reject replayed messages (``ReplayWindow``).
public struct Message: Sendable, Hashable {
    public var sender: Node
    /// Strictly increasing per sender, across restarts (it starts from the wall clock).
    public var sequence: UInt64
    /// The sender's wall clock when it sent the message.
    public var sentAt: ClusterTime
    public var body: Body
    /// Member updates piggybacked for dissemination.
    public var gossip: [Member]

    public init(sender: Node, sequence: UInt64, sentAt: ClusterTime, body: Body, gossip: [Member] = []) {
        self.sender = sender
        self.sequence = sequence
        self.sentAt = sentAt
        self.body = body
        self.gossip = gossip
    }

    /// Whether any member in the message has published weights (the codec's flag bit 1).
    var carriesWeights: Bool {
        if self.gossip.contains(where: { $0.weights != nil }) { return true }
        if case .pushPull(let members, _, _) = self.body { return members.contains { $0.weights != nil } }
        return false
    }

    /// What a message asks for.
    public enum Body: Sendable, Hashable {
        /// A probe: "are you `target`? answer with an ack carrying `probe`".
        case ping(probe: UInt64, target: String)
        /// The answer to a ping, sent directly or relayed by an indirect prober.
        case ack(probe: UInt64)
        /// An indirect prober's "I could not reach the target in time" (Lifeguard).
        case nack(probe: UInt64)
        /// "Probe `target` for me and relay its ack under `probe`."
        case pingRequest(probe: UInt64, target: Node)
        /// A full-state exchange; `join` when sent by a member joining, `reply` for the answer.
        case pushPull(members: [Member], join: Bool, reply: Bool)
        /// Only piggybacked updates.
        case gossip

        var kind: MessageKind {
            switch self {
            case .ping: .ping
            case .ack: .ack
            case .nack: .nack
            case .pingRequest: .pingRequest
            case .pushPull: .pushPull
            case .gossip: .gossip
            }
        }
    }
}

/// The message type byte on the wire.
public enum MessageKind: UInt8, Sendable, CaseIterable {
    case ping = 1
    case ack = 2
    case nack = 3
    case pingRequest = 4
    case pushPull = 5
    case gossip = 6
}
