/// The record types of the log (the `type` byte of a WAL record).
public enum EventKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case series = 1
    case samples = 2
    case targets = 3
    case membership = 4
    case ownership = 5
    case checkpoint = 6

    public var description: String {
        switch self {
        case .series: "series"
        case .samples: "samples"
        case .targets: "targets"
        case .membership: "membership"
        case .ownership: "ownership"
        case .checkpoint: "checkpoint"
        }
    }
}

/// One entry of the event log. See docs/wal-format.md, "Events".
public enum Event: Sendable, Equatable {
    case series([SeriesDefinition])
    case samples(SampleBatch)
    case targets(TargetsChange)
    case membership(MembershipEvent)
    case ownership(OwnershipEvent)
    case checkpoint(Checkpoint)

    public var kind: EventKind {
        switch self {
        case .series: .series
        case .samples: .samples
        case .targets: .targets
        case .membership: .membership
        case .ownership: .ownership
        case .checkpoint: .checkpoint
        }
    }
}

/// A seek point inside a segment. Every series' value chain and every target's ref
/// list start over here, so the samples after it decode knowing only the series
/// the segment defined before it; and every sample before it is older than
/// `newestBefore`, so a replay from a later time can start here.
public struct Checkpoint: Sendable, Equatable {
    /// The newest sample timestamp (ms) in the segment before this point.
    public var newestBefore: Int64

    public init(newestBefore: Int64) { self.newestBefore = newestBefore }
}

/// A series ref and its labels, written before the ref's first sample in a segment.
public struct SeriesDefinition: Sendable, Equatable {
    public var ref: UInt64
    public var labels: Labels

    public init(ref: UInt64, labels: Labels) {
        self.ref = ref
        self.labels = labels
    }
}

/// One scrape's samples: one timestamp, and (ref, value) pairs.
public struct SampleBatch: Sendable, Equatable {
    /// The target that was scraped (`TargetKey`); 0 for samples of no target.
    public var target: UInt64
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var refs: [UInt64]
    public var values: [Double]
    /// Per-sample timestamps, when the exposition gave its own (`honor_timestamps`).
    public var timestamps: [Int64]?
    /// The receivers the samples flow to through the configuration graph: the labels of the
    /// `prometheus.remote_write` components their `forward_to` path reaches (empty: none, the
    /// samples are kept for replay and history only). nil: no route recorded, every receiver
    /// (records written before routes existed, and appenders that route nothing).
    public var route: [String]?

    public init(
        target: UInt64, timestamp: Int64, refs: [UInt64], values: [Double], timestamps: [Int64]? = nil,
        route: [String]? = nil
    ) {
        precondition(refs.count == values.count && (timestamps?.count ?? refs.count) == refs.count)
        self.target = target
        self.timestamp = timestamp
        self.refs = refs
        self.values = values
        self.timestamps = timestamps
        self.route = route
    }

    /// Whether the samples flow to the `prometheus.remote_write` component labelled `receiver`.
    public func flows(to receiver: String) -> Bool { route?.contains(receiver) ?? true }

    public var count: Int { refs.count }

    public func timestamp(at index: Int) -> Int64 { timestamps?[index] ?? timestamp }

    /// Bit-exact equality: NaN payloads compare by their bits.
    public static func == (lhs: SampleBatch, rhs: SampleBatch) -> Bool {
        lhs.target == rhs.target && lhs.timestamp == rhs.timestamp && lhs.refs == rhs.refs
            && lhs.timestamps == rhs.timestamps && lhs.route == rhs.route
            && lhs.values.map(\.bitPattern) == rhs.values.map(\.bitPattern)
    }
}

/// Discovery output changed.
public struct TargetsChange: Sendable, Equatable {
    public var time: Int64
    public var added: [Target]
    public var removed: [UInt64]

    public struct Target: Sendable, Equatable {
        public var key: UInt64
        public var labels: Labels

        public init(key: UInt64, labels: Labels) {
            self.key = key
            self.labels = labels
        }
    }

    public init(time: Int64, added: [Target], removed: [UInt64]) {
        self.time = time
        self.added = added
        self.removed = removed
    }
}

/// A member's state as this node observed it.
public struct MembershipEvent: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable, Codable {
        case joined, viewer, participant, terminating, suspect, dead, refuted, left
    }

    public var time: Int64
    public var lamport: UInt64
    public var member: String
    public var address: String
    public var state: State
    public var incarnation: UInt64
    /// Members whose reports led to this state (for suspect and dead: who suspected).
    public var reportedBy: [String]
    public var detail: String

    public init(
        time: Int64, lamport: UInt64, member: String, address: String, state: State, incarnation: UInt64,
        reportedBy: [String] = [], detail: String = ""
    ) {
        self.time = time
        self.lamport = lamport
        self.member = member
        self.address = address
        self.state = state
        self.incarnation = incarnation
        self.reportedBy = reportedBy
        self.detail = detail
    }
}

/// A target's owner changed in this node's view.
public struct OwnershipEvent: Sendable, Equatable {
    public enum Cause: String, Sendable, CaseIterable, Codable {
        case initial = "initial"
        case memberJoined = "member_joined"
        case memberLeft = "member_left"
        case memberDead = "member_dead"
        case targetAdded = "target_added"
        case targetRemoved = "target_removed"
        /// Published weights moved it (`clustering { balance = "series" }`).
        case rebalanced = "rebalanced"
    }

    /// When this node recorded the change (ms).
    public var time: Int64
    /// The first scrape slot that belongs to the new owner (ms).
    public var effective: Int64
    public var target: UInt64
    public var labels: Labels
    /// Empty when the target had no owner (new target, or no participant).
    public var previousOwner: String
    /// Empty when the target has no owner now (removed, or no participant).
    public var newOwner: String
    public var cause: Cause
    /// Human-readable: "agentd-1 left gracefully", "agentd-1 declared dead after suspicion by agentd-2".
    public var detail: String

    public init(
        time: Int64, effective: Int64, target: UInt64, labels: Labels, previousOwner: String, newOwner: String,
        cause: Cause, detail: String
    ) {
        self.time = time
        self.effective = effective
        self.target = target
        self.labels = labels
        self.previousOwner = previousOwner
        self.newOwner = newOwner
        self.cause = cause
        self.detail = detail
    }
}

extension SampleBatch {
    /// Prometheus's staleness marker: a NaN with this exact bit pattern means "this series ended".
    public static let staleMarker = Double(bitPattern: 0x7ff0_0000_0000_0002)

    public static func isStaleMarker(_ value: Double) -> Bool { value.bitPattern == 0x7ff0_0000_0000_0002 }
}
