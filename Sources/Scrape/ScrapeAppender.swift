import Events

/// Where scrapes are written: the event log in production, an in-memory fake in tests.
public protocol ScrapeAppender: Sendable {
    /// The refs of `labelSets`, in order: the same label set always gets the same ref.
    func refs(for labelSets: [Labels]) -> [UInt64]
    /// Appends one scrape's samples (staleness markers and report series included).
    func append(samples batch: SampleBatch) async throws
    /// Appends one scrape's batches, one per pipeline, together.
    func append(samples batches: [SampleBatch]) async throws
    /// Appends one scrape's batches without waiting for the disk: returns once they are in the
    /// log behind everything appended before the call (or throws what kept them out, and then
    /// `durable` is never called), and calls `durable` once they are as durable as the log's sync
    /// policy makes them, with the error if that sync failed.
    func append(
        samples batches: [SampleBatch], whenDurable durable: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws
    /// Appends a change of a job's target set.
    func append(targets change: TargetsChange) async throws
}

extension ScrapeAppender {
    public func append(samples batches: [SampleBatch]) async throws {
        for batch in batches { try await append(samples: batch) }
    }

    /// For an appender whose appends are durable when they return (in memory, discarding).
    public func append(
        samples batches: [SampleBatch], whenDurable durable: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws {
        try await append(samples: batches)
        durable(.success(()))
    }
}

extension EventLog: ScrapeAppender {
    public func append(samples batches: [SampleBatch]) async throws {
        if batches.count == 1 {
            _ = try await append(batches[0])
        } else {
            _ = try await append(batches)
        }
    }

    public func append(
        samples batches: [SampleBatch], whenDurable durable: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws {
        try await append(batches) { durable($0.map { _ in () }) }
    }

    public func append(samples batch: SampleBatch) async throws { _ = try await append(batch) }

    public func append(targets change: TargetsChange) async throws { _ = try await append(.targets(change)) }
}
