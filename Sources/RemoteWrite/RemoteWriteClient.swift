import AsyncHTTPClient
import HTTPSecurity
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends compressed `WriteRequest` bodies to one endpoint, retrying as the remote write spec says.
///
/// 2xx is success. 5xx, network errors, TLS failures and timeouts are retried with exponential
/// backoff (``RemoteWriteEndpoint/minBackoff`` doubling up to ``RemoteWriteEndpoint/maxBackoff``),
/// and so is 429 when ``RemoteWriteEndpoint/retryOnHTTP429`` is on, and 401 and 403 when
/// ``RemoteWriteEndpoint/retryOnAuthorizationFailure`` is (the default); a `Retry-After` header
/// replaces the backoff delay. Anything else is refused for good and returned as
/// ``RemoteWriteOutcome/dropped(_:)`` with the receiver's message, for the caller to split, count
/// and log. Retries go on until success, a drop, or task cancellation.
///
/// Each attempt puts the endpoint's current credentials and TLS configuration on its request
/// (``HTTPClientCredentials``): a password file rewritten, a token rotated or a certificate
/// renewed is used by the next attempt. A credential file that cannot be read fails the attempt
/// (reason ``RemoteWriteFailureReason/credentials``, retried): the samples wait in the WAL
/// until it can be read again.
public struct RemoteWriteClient: Sendable {
    /// One failed attempt that will be retried, as reported to `onRetry`.
    public struct RetryableFailure: Sendable, CustomStringConvertible {
        /// Why it failed.
        public var reason: RemoteWriteFailureReason
        /// HTTP status, or `nil` for a network error, a TLS failure, a timeout or credentials
        /// that could not be read.
        public var status: Int?
        /// The receiver's message or the error.
        public var message: String
        /// The delay before the next attempt.
        public var delay: Duration

        public init(reason: RemoteWriteFailureReason, status: Int?, message: String, delay: Duration) {
            self.reason = reason
            self.status = status
            self.message = message
            self.delay = delay
        }

        public var description: String {
            let what = self.status.map { "\(self.reason) (HTTP \($0))" } ?? "\(self.reason)"
            return "\(what): \(self.message); retrying in \(self.delay)"
        }
    }

    /// Where the HTTP clients come from.
    private enum Transport: Sendable {
        /// A client per shape (redirects, HTTP/2, proxy, `server_name`).
        case pool(HTTPClientPool)
        /// One client the caller owns, for endpoints of the default shape.
        case client(HTTPClient)
    }

    /// The endpoint this client sends to.
    public let endpoint: RemoteWriteEndpoint
    /// Its credentials and TLS configuration, read again when their files change.
    public let credentials: HTTPClientCredentials
    private let transport: Transport
    private let logger: Logger
    private let headers: HTTPHeaders
    /// The endpoint's URL when requests go over plain connections (`http://`, no proxy).
    private let plainURL: PlainHTTPURL?
    private let wallClock: @Sendable () -> Double

    /// Bytes of a response body kept for the log line and the drop record.
    public static let messageLimit = 512

    /// Creates a client taking its HTTP clients from `pool` (owned by the caller).
    ///
    /// - Parameter owner: who the endpoint belongs to, for credential errors
    ///   (`prometheus.remote_write.default endpoint primary`); `remote_write endpoint NAME` by default.
    /// - Throws: ``RemoteWriteConfigurationError`` when a configured header is reserved.
    public init(
        endpoint: RemoteWriteEndpoint,
        pool: HTTPClientPool,
        owner: String? = nil,
        logger: Logger,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws(RemoteWriteConfigurationError) {
        try self.init(endpoint: endpoint, transport: .pool(pool), owner: owner, logger: logger, wallClock: wallClock)
    }

    /// Creates a client sending with `httpClient` (owned by the caller). The endpoint must have
    /// the default shape: no `server_name`, no proxy, redirects followed, HTTP/2 allowed (use
    /// ``init(endpoint:pool:owner:logger:wallClock:)`` otherwise).
    ///
    /// - Throws: ``RemoteWriteConfigurationError`` when a configured header is reserved, or the
    ///   endpoint needs a client of another shape.
    public init(
        endpoint: RemoteWriteEndpoint,
        httpClient: HTTPClient,
        owner: String? = nil,
        logger: Logger,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws(RemoteWriteConfigurationError) {
        let http = endpoint.http
        guard http.tls?.serverName == nil, http.proxyURL == nil, http.followRedirects, http.enableHTTP2 else {
            throw RemoteWriteConfigurationError(
                endpoint: endpoint.name,
                message: "server_name, proxy_url, follow_redirects and enable_http2 need a client pool")
        }
        try self.init(
            endpoint: endpoint, transport: .client(httpClient), owner: owner, logger: logger, wallClock: wallClock)
    }

    private init(
        endpoint: RemoteWriteEndpoint, transport: Transport, owner: String?, logger: Logger,
        wallClock: @escaping @Sendable () -> Double
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
        self.endpoint = endpoint
        self.credentials = HTTPClientCredentials(
            settings: endpoint.http, owner: owner ?? "remote_write endpoint \(endpoint.name)")
        self.transport = transport
        self.logger = logger
        self.headers = headers
        self.plainURL = endpoint.http.proxyURL == nil ? PlainHTTPURL(endpoint.url) : nil
        self.wallClock = wallClock
    }

    /// A pool of HTTP clients for remote write: no decompression, and a connection that cannot
    /// be made (refused, a TLS handshake that fails) fails its request at once with the reason,
    /// so the queue's backoff, not the pool's, paces the retries and the reason is counted. No
    /// tracing spans (agentd bootstraps no tracer; see ``HTTPScraper/clientConfiguration``).
    public static func makePool() -> HTTPClientPool {
        var configuration = HTTPClient.Configuration()
        configuration.decompression = .disabled
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.tracing.tracer = nil
        return HTTPClientPool(configuration: configuration)
    }

    /// Reads the endpoint's credential and certificate files now, as the next request would.
    ///
    /// - Throws: ``CredentialError`` naming the file that cannot be read or does not parse.
    public func checkCredentials() throws(CredentialError) {
        _ = try self.credentials.tlsConfiguration()
        _ = try self.credentials.authorizationHeader()
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
            case .retryable(let reason, let status, let message, let retryAfter):
                failure = RetryableFailure(
                    reason: reason, status: status, message: message, delay: backoff.delay(retryAfter: retryAfter))
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
        case retryable(reason: RemoteWriteFailureReason, status: Int?, message: String, retryAfter: Duration?)
        case permanent(status: Int, message: String)
    }

    /// The client and the request for one attempt, with the credentials in force now.
    private func prepare() throws(CredentialError) -> (HTTPClient, HTTPClientRequest) {
        switch self.transport {
        case .pool(let pool):
            return try pool.prepare(url: self.endpoint.url, credentials: self.credentials)
        case .client(let client):
            var request = HTTPClientRequest(url: self.endpoint.url)
            try self.credentials.authorize(&request)
            return (client, request)
        }
    }

    /// One POST, classified. To a plain `http://` endpoint of a pool without a proxy it goes over
    /// a kept-alive connection of ``connections``; to any other, or when that endpoint redirects,
    /// through AsyncHTTPClient.
    func attempt(_ body: ByteBuffer) async -> AttemptResult {
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(self.endpoint.remoteTimeout))
        if case .pool = self.transport, let plain = self.plainURL {
            switch await self.plainAttempt(body, to: plain, deadline: deadline) {
            case .some(let result): return result
            case .none: break  // A redirect: AsyncHTTPClient follows it.
            }
        }
        let httpClient: HTTPClient
        var request: HTTPClientRequest
        do {
            (httpClient, request) = try self.prepare()
        } catch {
            return .retryable(reason: .credentials, status: nil, message: error.description, retryAfter: nil)
        }
        request.method = .POST
        request.headers.add(contentsOf: self.headers)
        request.body = .bytes(body)
        do {
            let response = try await httpClient.execute(request, deadline: deadline, logger: self.logger)
            var reader = RemoteWriteResponseReader()
            reader.head(HTTPResponseHead(version: response.version, status: response.status, headers: response.headers))
            for try await chunk in response.body { reader.bodyPart(chunk) }
            return self.classify(reader.finish())
        } catch {
            return Self.unanswered(error)
        }
    }

    /// One POST on a plain connection; nil when the endpoint answered with a redirect.
    private func plainAttempt(_ body: ByteBuffer, to url: PlainHTTPURL, deadline: NIODeadline) async
        -> AttemptResult?
    {
        var headers = self.headers
        headers.add(name: "Host", value: url.authority)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        do {
            if let authorization = try self.credentials.authorizationHeader() {
                headers.add(name: "Authorization", value: authorization)
            }
        } catch {
            return .retryable(reason: .credentials, status: nil, message: error.description, retryAfter: nil)
        }
        do {
            let outcome = try await Self.connections.send(
                HTTPRequestHead(version: .http1_1, method: .POST, uri: url.target, headers: headers), body: body,
                to: url, on: MultiThreadedEventLoopGroup.singleton.next(), deadline: deadline,
                reader: RemoteWriteResponseReader())
            switch outcome {
            case .response(let response): return self.classify(response)
            case .redirect: return nil
            }
        } catch {
            return Self.unanswered(error)
        }
    }

    /// A request that got no answer: retried, with the reason `error` gives.
    private static func unanswered(_ error: any Error) -> AttemptResult {
        let (reason, message) = RemoteWriteFailureReason.classify(error: error)
        return .retryable(reason: reason, status: nil, message: message, retryAfter: nil)
    }

    /// What an answer means: success, a failure to retry (with the receiver's `Retry-After`), or a refusal.
    private func classify(_ response: RemoteWriteResponseReader.Response) -> AttemptResult {
        let status = response.status
        var text = String(decoding: response.message.readableBytesView, as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        switch status {
        case 200..<300:
            return .success(status: status)
        case _
        where (500..<600).contains(status) || (status == 429 && self.endpoint.retryOnHTTP429)
            || ((status == 401 || status == 403) && self.endpoint.retryOnAuthorizationFailure):
            let retryAfter = response.retryAfter.flatMap { RetryAfter.delay($0, now: self.wallClock()) }
            return .retryable(reason: .classify(status: status), status: status, message: text, retryAfter: retryAfter)
        default:
            return .permanent(status: status, message: text)
        }
    }

    /// The kept-alive connections of plain `http://` endpoints, for the whole process.
    static let connections = PlainHTTPConnections<RemoteWriteResponseReader>(receiveBufferLimit: 16 << 10)

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

/// A remote-write answer as it arrives: its status, its `Retry-After`, and the first
/// ``RemoteWriteClient/messageLimit`` bytes of its body (the receiver's reason).
struct RemoteWriteResponseReader: PlainHTTPResponseReader {
    struct Response: Sendable {
        var status = 0
        var retryAfter: String?
        var message = ByteBuffer()
    }

    private var response = Response()

    mutating func head(_ head: HTTPResponseHead) {
        response.status = Int(head.status.code)
        response.retryAfter = head.headers.first(name: "Retry-After")
    }

    mutating func bodyPart(_ buffer: ByteBuffer) {
        var buffer = buffer
        let room = RemoteWriteClient.messageLimit - response.message.readableBytes
        if room > 0, let slice = buffer.readSlice(length: min(room, buffer.readableBytes)) {
            response.message.writeImmutableBuffer(slice)
        }
    }

    func finish() -> Response { response }
}
