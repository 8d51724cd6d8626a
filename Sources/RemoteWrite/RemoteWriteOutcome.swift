/// What became of one request: the caller may advance its durable cursor past the batch in
/// either case, because a drop has been logged and counted.
public enum RemoteWriteOutcome: Sendable, Hashable {
    /// The receiver answered 2xx.
    case sent(status: Int, attempts: Int)
    /// The receiver refused the request for good; it is not retried.
    case dropped(RemoteWriteDrop)

    /// Whether the batch reached the receiver.
    public var isSent: Bool {
        if case .sent = self { return true }
        return false
    }
}

/// A request the receiver refused for good, with its answer.
public struct RemoteWriteDrop: Sendable, Hashable, CustomStringConvertible {
    /// Why the request was not retried.
    public enum Reason: Sendable, Hashable {
        /// A 4xx (other than a retried 429) or another non-retryable status.
        case rejected
        /// HTTP 429 while `retryOnHTTP429` is off.
        case rateLimited
    }

    /// Why the request was not retried.
    public var reason: Reason
    /// The HTTP status.
    public var status: Int
    /// The start of the response body (at most 512 bytes): the receiver's explanation.
    public var message: String
    /// Attempts made, including the last.
    public var attempts: Int

    /// Creates a drop record.
    public init(reason: Reason, status: Int, message: String, attempts: Int) {
        self.reason = reason
        self.status = status
        self.message = message
        self.attempts = attempts
    }

    public var description: String {
        "dropped after \(self.attempts) attempt(s): HTTP \(self.status): \(self.message)"
    }
}

extension RemoteWriteDrop {
    /// The drop of a request the receiver answered `status` (not retried).
    init(status: Int, message: String, attempts: Int) {
        self.init(
            reason: status == 429 ? .rateLimited : .rejected, status: status, message: message, attempts: attempts)
    }
}
