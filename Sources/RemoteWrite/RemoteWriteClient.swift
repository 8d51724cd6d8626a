import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends compressed `WriteRequest` bodies to one endpoint, retrying as the remote write spec says.
///
/// 2xx is success. 5xx, network errors and timeouts are retried with exponential backoff
/// (``RemoteWriteEndpoint/minBackoff`` doubling up to ``RemoteWriteEndpoint/maxBackoff``), and so is
/// 429 when ``RemoteWriteEndpoint/retryOnHTTP429`` is on; a `Retry-After` header replaces the
/// backoff delay. Anything else is refused for good and returned as ``RemoteWriteOutcome/dropped(_:)``
/// with the receiver's message, for the caller to split, count and log. Retries go on until success, a drop, or task cancellation.
public struct RemoteWriteClient: Sendable {
    /// One failed attempt that will be retried, as reported to `onRetry`.
    public struct RetryableFailure: Sendable, CustomStringConvertible {
        /// HTTP status, or `nil` for a network error or timeout.
        public var status: Int?
        /// The receiver's message or the error.
        public var message: String
        /// The delay before the next attempt.
        public var delay: Duration

        public var description: String {
            "\(self.status.map { "HTTP \($0)" } ?? "request failed"): \(self.message); retrying in \(self.delay)"
        }
    }

    /// The endpoint this client sends to.
    public let endpoint: RemoteWriteEndpoint
    private let httpClient: HTTPClient
    private let logger: Logger
    private let headers: HTTPHeaders
    private let wallClock: @Sendable () -> Double

    /// Bytes of a response body kept for the log line and the drop record.
    public static let messageLimit = 512

    /// Creates a client; the `HTTPClient` is owned by the caller.
    ///
    /// - Throws: ``RemoteWriteConfigurationError`` when a configured header is reserved.
    public init(
        endpoint: RemoteWriteEndpoint,
        httpClient: HTTPClient,
        logger: Logger,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws(RemoteWriteConfigurationError) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Encoding", value: "snappy")
        headers.add(name: "Content-Type", value: "application/x-protobuf")
        headers.add(name: "User-Agent", value: endpoint.userAgent)
        headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        for (name, value) in endpoint.headers.sorted(by: { $0.key < $1.key }) {
            guard !RemoteWriteEndpoint.reservedHeaders.contains(name.lowercased()) else {
                throw RemoteWriteConfigurationError(endpoint: endpoint.name, message: "header \(name) is reserved")
            }
            headers.add(name: name, value: value)
        }
        switch endpoint.authorization {
        case .bearer(let token):
            headers.add(name: "Authorization", value: "Bearer \(token)")
        case .basic(let username, let password):
            let credentials = Data("\(username):\(password)".utf8).base64EncodedString()
            headers.add(name: "Authorization", value: "Basic \(credentials)")
        case nil:
            break
        }
        self.endpoint = endpoint
        self.httpClient = httpClient
        self.logger = logger
        self.headers = headers
        self.wallClock = wallClock
    }

    /// Sends one snappy-compressed `WriteRequest`, retrying until it is sent or dropped.
    ///
    /// - Parameters:
    ///   - body: the compressed request.
    ///   - onRetry: called before each retry's wait (for metrics).
    /// - Throws: `CancellationError` when the task is cancelled; nothing else.
    public func send(
        _ body: ByteBuffer,
        onRetry: (RetryableFailure) -> Void = { _ in }
    ) async throws(CancellationError) -> RemoteWriteOutcome {
        var backoff = RetryBackoff(self.endpoint)
        var attempts = 0
        while true {
            if Task.isCancelled { throw CancellationError() }
            attempts += 1
            let failure: RetryableFailure
            switch await self.attempt(body) {
            case .success(let status):
                return .sent(status: status, attempts: attempts)
            case .permanent(let status, let message):
                let drop = RemoteWriteDrop(status: status, message: message, attempts: attempts)
                self.traceRefusal(drop)
                return .dropped(drop)
            case .retryable(let status, let message, let retryAfter):
                failure = RetryableFailure(
                    status: status, message: message, delay: backoff.delay(retryAfter: retryAfter))
            }
            // A request cut short by cancellation is no failure of the receiver's.
            if Task.isCancelled { throw CancellationError() }
            self.traceRetry(failure)
            onRetry(failure)
            do {
                try await Task.sleep(for: failure.delay)
            } catch {
                throw CancellationError()
            }
        }
    }

    /// Logs a refused request at debug level: the caller decides what a refusal means (split,
    /// count, log), so only a trace here.
    func traceRefusal(_ drop: RemoteWriteDrop) {
        self.logger.debug(
            "remote write request refused",
            metadata: [
                "remote_write.endpoint": "\(self.endpoint.name)", "http.status": "\(drop.status)",
                "remote_write.message": "\(drop.message)", "remote_write.attempts": "\(drop.attempts)",
            ])
    }

    /// Logs a failed attempt that will be retried, at debug level (outages are reported by the queue).
    func traceRetry(_ failure: RetryableFailure) {
        self.logger.debug(
            "remote write request failed, retrying",
            metadata: [
                "remote_write.endpoint": "\(self.endpoint.name)", "remote_write.error": "\(failure)",
            ])
    }

    enum AttemptResult: Sendable, Hashable {
        case success(status: Int)
        case retryable(status: Int?, message: String, retryAfter: Duration?)
        case permanent(status: Int, message: String)
    }

    /// One POST, classified.
    func attempt(_ body: ByteBuffer) async -> AttemptResult {
        var request = HTTPClientRequest(url: self.endpoint.url)
        request.method = .POST
        request.headers = self.headers
        request.body = .bytes(body)
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(self.endpoint.remoteTimeout))
        do {
            let response = try await self.httpClient.execute(request, deadline: deadline, logger: self.logger)
            let status = Int(response.status.code)
            var message = ByteBuffer()
            for try await chunk in response.body {
                var chunk = chunk
                let room = Self.messageLimit - message.readableBytes
                if room > 0, let slice = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                    message.writeImmutableBuffer(slice)
                }
            }
            let text = String(decoding: message.readableBytesView, as: UTF8.self)
            switch status {
            case 200..<300:
                return .success(status: status)
            case _ where (500..<600).contains(status) || (status == 429 && self.endpoint.retryOnHTTP429):
                let retryAfter = response.headers.first(name: "Retry-After").flatMap {
                    RetryAfter.delay($0, now: self.wallClock())
                }
                return .retryable(status: status, message: text, retryAfter: retryAfter)
            default:
                return .permanent(status: status, message: text)
            }
        } catch {
            return .retryable(status: nil, message: "\(error)", retryAfter: nil)
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// A remote-write endpoint configured in a way the protocol does not allow.
public struct RemoteWriteConfigurationError: Error, Hashable, CustomStringConvertible {
    /// The endpoint's name.
    public var endpoint: String
    /// What is wrong.
    public var message: String

    public var description: String { "remote write endpoint \(self.endpoint): \(self.message)" }
}
