/// Everything the cluster knows about one member; the unit of gossip and of push-pull state.
///
/// Liveness (alive, suspect, dead, left) is SWIM's and is ordered by `incarnation`; the role
/// history (viewer, participant, terminating) is ckit's and is ordered by Lamport time. Both
/// travel together so that a single message carries a member's whole state.
public struct Member: Sendable, Hashable, CustomStringConvertible {
    public var node: Node
    /// Raised only by the member itself, to refute a suspicion or to come back after a death.
    public var incarnation: UInt64
    public var liveness: Liveness
    /// Who suspected or declared the member dead (empty while alive).
    public var reporters: [String]
    /// The member's recent role changes, oldest first by Lamport time.
    public var history: [StateChange]
    /// The member's newest weight publication (`balance = "series"`); nil until it publishes.
    /// Only the member itself replaces it, with a higher version.
    public var weights: WeightPublication?

    public init(
        node: Node,
        incarnation: UInt64,
        liveness: Liveness,
        reporters: [String] = [],
        history: [StateChange] = [],
        weights: WeightPublication? = nil
    ) {
        self.node = node
        self.incarnation = incarnation
        self.liveness = liveness
        self.reporters = reporters
        self.history = history
        self.weights = weights
    }

    public var name: String { self.node.name }

    /// The role in effect at `time` (nil before the first entry takes effect).
    public func role(at time: ClusterTime) -> Role? {
        self.history.role(at: time)
    }

    public var description: String {
        "\(self.node) #\(self.incarnation) \(self.liveness) \(self.history)"
    }
}
