/// How far delivery to one endpoint has got, exactly: what a remote-write queue reports after
/// every acknowledged request, and takes back after a restart so that only the requests that
/// were in flight are sent again.
///
/// Positions are the queue's opaque input positions (a WAL record's end, packed). A shard's
/// ``Mark`` counts its samples inside the record at `position`, in the order the record
/// lists them, so a record that was half sent by one shard resumes at the right sample.
public struct DeliveryProgress: Sendable, Hashable {
    /// A point in one shard's stream: every sample of the shard in records before `position`,
    /// and the first `samples` of its samples in the record at `position`.
    public struct Mark: Sendable, Hashable, Comparable {
        /// The record's position.
        public var position: UInt64
        /// The shard's samples of that record up to the mark.
        public var samples: Int

        /// Creates a mark.
        public init(position: UInt64, samples: Int) {
            self.position = position
            self.samples = samples
        }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.position, lhs.samples) < (rhs.position, rhs.samples)
        }
    }

    /// Everything at or before this position is settled (sent, or refused and counted).
    public var committed: UInt64?
    /// Per shard: the samples up to this mark are settled.
    public var acknowledged: [Mark?]
    /// Per shard: the samples up to this mark were sent, acknowledged or not (the request in flight ends here).
    public var sent: [Mark?]
    /// What decides a series' shard: the shard count and the external labels. Marks apply
    /// only under the same mapping; under another, resuming starts at `committed`.
    public var mapping: String

    /// Creates a progress record.
    public init(committed: UInt64?, acknowledged: [Mark?], sent: [Mark?], mapping: String) {
        self.committed = committed
        self.acknowledged = acknowledged
        self.sent = sent
        self.mapping = mapping
    }

    /// The progress of a queue that has sent nothing since `committed`.
    public init(committed: UInt64?, shards: Int, mapping: String) {
        self.init(
            committed: committed, acknowledged: Array(repeating: nil, count: shards),
            sent: Array(repeating: nil, count: shards), mapping: mapping)
    }
}

/// Where a queue keeps its ``DeliveryProgress`` (a small file per endpoint beside the WAL).
public protocol DeliveryProgressStore: Sendable {
    /// Stores `progress`, replacing what was stored; called with stores never going backwards.
    func store(_ progress: DeliveryProgress) throws
}
