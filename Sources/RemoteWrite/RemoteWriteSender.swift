import NIOCore

/// Why a receiver refused samples for good, as its answer says (Prometheus's, Mimir's and
/// Thanos's wording): a refusal that names samples, which splitting the request isolates.
public enum RemoteWriteRefusal: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Older than the newest sample the receiver holds for the series.
    case outOfOrder = "out_of_order"
    /// Same timestamp as a sample the receiver holds, another value.
    case duplicate
    /// Outside the time range the receiver accepts (too old).
    case outOfBounds = "out_of_bounds"
    /// Sent again after a restart (its request was in flight when the agent stopped) and
    /// refused because the receiver already had it: not a loss.
    case alreadyDelivered = "already_delivered"

    /// The refusal a 400 answer's message names, or nil when it names none.
    public static func classify(status: Int, message: String) -> Self? {
        guard status == 400 else { return nil }
        let text = message.lowercased()
        if text.contains("out of order") || text.contains("out-of-order") { return .outOfOrder }
        if text.contains("duplicate sample") { return .duplicate }
        if text.contains("out of bounds") || text.contains("too old") { return .outOfBounds }
        return nil
    }

    public var description: String { self.rawValue }
}

/// Delivers a run of samples, sending them as one request and, when the receiver refuses it
/// for samples it will never take (``RemoteWriteRefusal``), as halves of it, and halves of
/// those, until each refused sample stands alone: a Prometheus receiver rolls back a whole
/// request on its first bad sample, so without the split one stale sample would take every
/// valid sample of its request down with it. The samples are sent in the order given, so a
/// series' samples still leave in order.
///
/// A request refused for another reason (a 4xx that names no sample) is dropped whole, as
/// before: retrying or splitting it would not change the answer. The splitting is
/// ``RefusalIsolation``'s; this sends what it asks for, one request at a time.
public struct RemoteWriteSender {
    /// What became of the samples given to ``deliver(_:onRetry:)``.
    public struct Result: Sendable {
        /// Samples the receiver accepted.
        public var accepted = 0
        /// Requests the receiver accepted.
        public var acceptedRequests = 0
        /// Compressed bytes of the accepted requests.
        public var acceptedBytes = 0
        /// The newest timestamp the receiver accepted.
        public var newestAccepted: Int64?
        /// Samples the receiver refused alone: their index in the input, and why.
        public var refused: [(index: Int, refusal: RemoteWriteRefusal)] = []
        /// The receiver's message for the first refusal.
        public var refusalMessage: String?
        /// Samples dropped with a request refused for a reason that names no sample.
        public var dropped = 0
        /// The answers of those requests, with the samples each held.
        public var drops: [(drop: RemoteWriteDrop, samples: Int)] = []
        /// Requests made, the split ones included.
        public var requests = 0
    }

    private let client: RemoteWriteClient
    private var encoder = WriteRequestEncoder()
    private var snappy = Snappy()
    private var batch: RemoteWriteBatch

    /// Creates a sender over `client`, reserving room for requests of `capacity` samples.
    public init(client: RemoteWriteClient, capacity: Int = 2_000) {
        self.client = client
        self.batch = RemoteWriteBatch(capacity: capacity)
    }

    /// Sends `entries`; retries as ``RemoteWriteClient/send(_:onRetry:)`` does, splits on refusals.
    ///
    /// - Throws: `CancellationError` when the task is cancelled: what was not acknowledged by
    ///   then is unsettled.
    public mutating func deliver(
        _ entries: some RandomAccessCollection<RemoteWriteBatch.Entry>,
        onRetry: (RemoteWriteClient.RetryableFailure) -> Void = { _ in }
    ) async throws(CancellationError) -> Result {
        var isolation = RefusalIsolation(count: entries.count)
        let start = entries.startIndex
        let timestamp = { (offset: Int) in entries[entries.index(start, offsetBy: offset)].timestamp }
        while let range = isolation.nextRun(timestamp: timestamp) {
            self.batch.removeAll()
            for offset in range {
                let entry = entries[entries.index(start, offsetBy: offset)]
                self.batch.append(entry.series, timestamp: entry.timestamp, value: entry.value)
            }
            self.encoder.encode(self.batch)
            var body = ByteBuffer()
            self.encoder.withEncodedBytes { self.snappy.compress($0, appendingTo: &body) }
            switch try await self.client.send(body, onRetry: onRetry) {
            case .sent:
                isolation.accepted(range, bytes: body.readableBytes, newest: self.batch.maxTimestamp)
            case .dropped(let drop):
                isolation.refused(range, drop: drop, timestamp: timestamp)
            }
        }
        return isolation.result
    }
}
