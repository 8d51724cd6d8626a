/// The delays between attempts of one request: exponential backoff from ``RemoteWriteEndpoint/minBackoff``
/// doubling up to ``RemoteWriteEndpoint/maxBackoff``; a receiver's `Retry-After` replaces the
/// delay (at most ``RemoteWriteEndpoint/maxRetryAfter``) and the backoff goes on from there.
struct RetryBackoff: Sendable, Hashable {
    private let maximum: Duration
    private let maxRetryAfter: Duration
    private var next: Duration

    /// Creates the backoff of a new request to `endpoint`.
    init(_ endpoint: RemoteWriteEndpoint) {
        self.next = endpoint.minBackoff
        self.maximum = endpoint.maxBackoff
        self.maxRetryAfter = endpoint.maxRetryAfter
    }

    /// The delay before the next attempt after a failed one, given the receiver's `Retry-After`.
    mutating func delay(retryAfter: Duration?) -> Duration {
        var delay = self.next
        if let retryAfter {
            delay = min(retryAfter, self.maxRetryAfter)
        }
        self.next = min(delay * 2, self.maximum)
        return delay
    }
}
