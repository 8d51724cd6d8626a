import Primitives

/// Counters of one remote-write queue, named after Prometheus's
/// `prometheus_remote_storage_*` metrics, for the integrator to export.
public struct RemoteWriteMetrics: Sendable, Hashable {
    /// Samples the receiver accepted (`samples_total`).
    public var samplesTotal: UInt64 = 0
    /// Samples in requests dropped for good after a non-retryable answer (`samples_failed_total`).
    public var failedSamplesTotal: UInt64 = 0
    /// Samples in requests that were retried, once per retry (`samples_retried_total`).
    public var retriedSamplesTotal: UInt64 = 0
    /// Samples whose series was never stored, skipped at append (`samples_dropped_total`).
    public var droppedSamplesTotal: UInt64 = 0
    /// Requests the receiver accepted.
    public var requestsTotal: UInt64 = 0
    /// Requests dropped for good.
    public var failedRequestsTotal: UInt64 = 0
    /// Attempts that failed, by reason: retried ones (TLS, 401, 5xx, network…) and requests
    /// dropped for a reason that names no sample (`agentd_remote_storage_failed_requests_total`).
    public var failedAttempts: [RemoteWriteFailureReason: UInt64] = [:]
    /// Compressed bytes of accepted requests (`bytes_total`).
    public var bytesTotal: UInt64 = 0
    /// Newest sample timestamp (ms) the receiver accepted (`queue_highest_sent_timestamp_seconds` × 1000).
    public var highestSentTimestamp: Int64?
    /// Samples the receiver refused alone, by reason (the rest of their requests was delivered).
    public var refusedSamples: [RemoteWriteRefusal: UInt64] = [:]
    /// Newest sample timestamp (ms) read from the WAL into the queue (`highest_timestamp_in_seconds` × 1000).
    public var highestAppendedTimestamp: Int64?
    /// Samples waiting in the shards' queues now (`samples_pending`).
    public var pendingSamples: Int = 0
    /// Timestamp (ms) of the oldest sample waiting in a shard's queue.
    public var oldestPendingTimestamp: Int64?
    /// Number of shards (`shards`).
    public var shards: Int = 0
    /// How long each request attempt took, answered or failed (`sent_batch_duration_seconds`).
    public var sendDurations = BucketHistogram(upperBounds: BucketHistogram.sendDurationBounds)

    /// Creates zeroed counters.
    public init() {}
}
