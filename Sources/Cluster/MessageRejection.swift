/// Why an incoming message was rejected. Nothing a rejected message carries changes any state.
///
/// The transport answers a rejected message with a 4xx status and counts it per case.
public enum MessageRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes do not decode: `reason` at byte `offset`.
    case malformed(offset: Int, reason: String)
    /// The message is larger than the configured bound.
    case oversized(size: Int, limit: Int)
    /// The message belongs to another cluster (`--cluster.name`).
    case clusterMismatch(expected: String, received: String)
    /// A shared secret is configured and the message carries no tag or a wrong one.
    case authenticationFailed(sender: String?)
    /// The message is a copy of one already received, or older than the replay window.
    case replayed(sender: String, sequence: UInt64)
    /// The message's timestamp is too far from this node's clock.
    case stale(sender: String, skew: Duration)
    /// The message names this node as its sender: one of its own, played back to it.
    case fromSelf(sequence: UInt64)
    /// The sender uses this node's name from another address: two members with one
    /// `--cluster.node-name`. The name stays with `holder` (this node).
    case nameTaken(name: String, holder: String, claimant: String)

    /// A short label for metrics (`reason="…"`).
    public var label: String {
        switch self {
        case .malformed: "malformed"
        case .oversized: "oversized"
        case .clusterMismatch: "cluster_mismatch"
        case .authenticationFailed: "authentication"
        case .replayed: "replayed"
        case .stale: "stale"
        case .fromSelf: "self"
        case .nameTaken: "name_conflict"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let offset, let reason): "malformed message at offset \(offset): \(reason)"
        case .oversized(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit)"
        case .clusterMismatch(let expected, let received):
            "message for cluster \"\(received)\", expected \"\(expected)\""
        case .authenticationFailed(let sender): "authentication failed for message from \(sender ?? "unknown sender")"
        case .replayed(let sender, let sequence): "replayed message \(sequence) from \(sender)"
        case .stale(let sender, let skew): "message from \(sender) is \(skew) away from the local clock"
        case .fromSelf(let sequence): "message \(sequence) names this node as its sender (its own message, played back)"
        case .nameTaken(let name, let holder, let claimant):
            "node name \"\(name)\" is taken by the member at \(holder); the member at \(claimant) needs its own --cluster.node-name"
        }
    }
}
