/// A target's owner changed in this node's view, from a scrape slot on.
public struct OwnershipChange: Sendable, Hashable, CustomStringConvertible {
    /// Why it changed.
    public enum Cause: Sendable, Hashable, CustomStringConvertible {
        case memberJoined(String)
        case memberLeft(String)
        case memberDeclaredDead(String, reporters: [String])
        case targetAdded
        case targetRemoved
        /// Published weights moved it (`balance = "series"`), the membership unchanged.
        case rebalanced(Rebalance)

        public var description: String {
            switch self {
            case .memberJoined(let name): "\(name) joined"
            case .memberLeft(let name): "\(name) left"
            case .memberDeclaredDead(let name, let reporters):
                "\(name) declared dead" + (reporters.isEmpty ? "" : " by \(reporters.joined(separator: ", "))")
            case .targetAdded: "target added"
            case .targetRemoved: "target removed"
            case .rebalanced(let rebalance): "rebalanced: \(rebalance)"
            }
        }
    }

    /// Why weights moved a target, and the loads that decided it.
    public struct Rebalance: Sendable, Hashable, CustomStringConvertible {
        /// The member the explanation is about.
        public var member: String
        /// True: `member`, the previous owner, would be over its bound with the target; false:
        /// `member`, the new owner, comes first on the target's ring walk and has room again.
        public var overBound: Bool
        /// The target's weight then (nil: not published).
        public var weight: UInt64?
        /// Every member's load after the move, and the bound of the members sharing targets.
        public var loads: [String: UInt64]
        public var capacity: UInt64

        public init(member: String, overBound: Bool, weight: UInt64?, loads: [String: UInt64], capacity: UInt64) {
            self.member = member
            self.overBound = overBound
            self.weight = weight
            self.loads = loads
            self.capacity = capacity
        }

        public var description: String {
            let loads = self.loads.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let weight = self.weight.map { "\($0) series" } ?? "weight unpublished"
            return (self.overBound ? "\(self.member) over its bound" : "\(self.member) has room for it")
                + " (\(weight); series per member \(loads); bound \(self.capacity))"
        }
    }

    public var target: UInt64
    /// Nil when the target had no owner (just added, or no participant).
    public var previousOwner: String?
    /// Nil when the target is removed or no participant is left.
    public var newOwner: String?
    /// The first nominal scrape slot the new owner scrapes.
    public var effective: ClusterTime
    public var cause: Cause

    public init(target: UInt64, previousOwner: String?, newOwner: String?, effective: ClusterTime, cause: Cause) {
        self.target = target
        self.previousOwner = previousOwner
        self.newOwner = newOwner
        self.effective = effective
        self.cause = cause
    }

    public var description: String {
        "target \(self.target): \(self.previousOwner ?? "-") → \(self.newOwner ?? "-") from \(self.effective) (\(self.cause))"
    }
}
