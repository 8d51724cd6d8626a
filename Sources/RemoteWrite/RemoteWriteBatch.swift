/// Samples gathered for one remote-write request, in the order they were appended.
///
/// This is the neutral input of the output side: whoever reads the WAL turns each `series`
/// record into a ``RemoteWriteLabelSet`` once and appends `(labelSet, timestamp, value)` for
/// every sample. Samples of one series must be appended in timestamp order.
public struct RemoteWriteBatch: Sendable {
    /// One appended sample.
    public struct Entry: Sendable {
        /// The series the sample belongs to.
        public var series: RemoteWriteLabelSet
        /// Milliseconds since the Unix epoch.
        public var timestamp: Int64
        /// The value, sent bit-exact.
        public var value: Double

        public init(series: RemoteWriteLabelSet, timestamp: Int64, value: Double) {
            self.series = series
            self.timestamp = timestamp
            self.value = value
        }
    }

    /// The appended samples.
    public private(set) var entries: [Entry] = []

    /// Creates an empty batch, reserving room for `capacity` samples.
    public init(capacity: Int = 0) {
        self.entries.reserveCapacity(capacity)
    }

    /// Number of samples in the batch.
    public var count: Int { self.entries.count }

    /// Whether the batch holds no sample.
    public var isEmpty: Bool { self.entries.isEmpty }

    /// Appends one sample of `series`.
    public mutating func append(_ series: RemoteWriteLabelSet, timestamp: Int64, value: Double) {
        self.entries.append(Entry(series: series, timestamp: timestamp, value: value))
    }

    /// Removes every sample, keeping the storage for the next batch.
    public mutating func removeAll() {
        self.entries.removeAll(keepingCapacity: true)
    }

    /// The newest timestamp in the batch, or `nil` when empty.
    public var maxTimestamp: Int64? {
        self.entries.lazy.map(\.timestamp).max()
    }
}
