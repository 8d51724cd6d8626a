import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOHTTP1
import NIOHTTPCompression

/// Why a scrape failed. The message is what the target status and the logs show.
public struct ScrapeError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is; the limits have a counter each, as in Prometheus.
    public enum Kind: Sendable, Hashable {
        case failed
        case timedOut
        /// The body passed `body_size_limit` (after gzip decoding).
        case bodySizeLimit
        /// More samples than `sample_limit`.
        case sampleLimit
        /// A series past `label_limit`, `label_name_length_limit`, `label_value_length_limit` or
        /// agentd's ceiling of labels per series.
        case labelLimits
        /// The scrape would not fit in one WAL record.
        case tooLargeForWAL
        /// The job has more targets than its `target_limit`: none of them is scraped.
        case targetLimit
    }

    public var message: String
    public var kind: Kind

    public init(_ message: String, kind: Kind = .failed) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

/// Fetches a target's exposition over HTTP, as Prometheus does: connection reuse,
/// an `Accept` header preferring OpenMetrics, gzip, the scrape timeout header, a
/// deadline on the whole exchange and a limit on the decoded body. gzip is decoded here
/// rather than by the HTTP client, so that the limit is the target's own and holds while
/// decoding (see ``GzipDecoder``). The job's ``HTTPClientCredentials`` give the TLS
/// configuration and the `Authorization` header of each request (files read again when they
/// change); the pool gives the client for the job's redirects, HTTP/2, proxy and server name.
public struct HTTPScraper: TargetScraper {
    /// Prometheus's `Accept` header for scrapes (OpenMetrics first, then text 0.0.4).
    public static let acceptHeader =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    public let pool: HTTPClientPool

    public init(pool: HTTPClientPool) { self.pool = pool }

    /// What every scraping client has: connections kept alive; gzip is left to ``fetch``; a
    /// refused connection or a failed TLS handshake fails the scrape at once with its reason,
    /// instead of being retried until the timeout.
    ///
    /// A connection reads one buffer per wake-up (`maxMessagesPerRead` 1). NIO keeps a pool of
    /// receive buffers per connection as large as that count, each up to 64 KiB; at its default
    /// of 4, every kept-alive target connection held about 192 KiB between scrapes (98 MB at 500
    /// targets), now at most one buffer.
    public static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.decompression = .disabled
        configuration.connectionPool.idleTimeout = .seconds(120)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.http1_1ConnectionDebugInitializer = { channel in
            channel.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
        }
        return configuration
    }

    /// A client with ``clientConfiguration`` (the agent's clear-text gossip uses it).
    public static func makeClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }

    /// The scraping clients, one per shape of job, all with ``clientConfiguration``.
    public static func makePool() -> HTTPClientPool { HTTPClientPool(configuration: clientConfiguration) }

    /// The body of `url`, decoded; `bodySizeLimit` (0: none) bounds the decoded bytes.
    public func fetch(
        url: String, timeout: Duration, bodySizeLimit: Int, credentials: HTTPClientCredentials?
    ) async throws(ScrapeError) -> ScrapeResponse {
        let started = ContinuousClock.now
        let client: HTTPClient
        var request: HTTPClientRequest
        do {
            (client, request) = try pool.prepare(url: url, credentials: credentials)
        } catch {
            // A file that cannot be read: the message names it and the job, never its content.
            throw ScrapeError(error.description)
        }
        request.headers.add(name: "Accept", value: Self.acceptHeader)
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        request.headers.add(name: "User-Agent", value: "agentd/0.1.0")
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        request.headers.add(name: "X-Prometheus-Scrape-Timeout-Seconds", value: String(seconds))
        let prepared = request
        do {
            return try await withDeadline(timeout) {
                let response = try await client.execute(prepared, timeout: .nanoseconds(Int64(seconds * 1e9)))
                guard response.status == .ok else {
                    throw ScrapeError(
                        "server returned HTTP status \(response.status.code) \(response.status.reasonPhrase)")
                }
                let encoding = response.headers.first(name: "Content-Encoding")?.lowercased()
                if encoding == "gzip" || encoding == "x-gzip" {
                    // Content-Length counts compressed bytes: no use for sizing the decoded body.
                    var body = ScrapeBody(limit: bodySizeLimit)
                    let decoder = try GzipDecoder()
                    for try await chunk in response.body {
                        try chunk.withUnsafeReadableBytes { try decoder.decode($0, into: &body) }
                    }
                    try decoder.finish()
                    return ScrapeResponse(body: body.bytes, contentType: response.headers.first(name: "Content-Type"))
                }
                let length = response.headers.first(name: "Content-Length").flatMap(Int.init)
                var body = ScrapeBody(limit: bodySizeLimit, expectedLength: length)
                for try await chunk in response.body {
                    try body.append(chunk.readableBytesView)
                }
                return ScrapeResponse(body: body.bytes, contentType: response.headers.first(name: "Content-Type"))
            }
        } catch let error as ScrapeError {
            throw error
        } catch {
            // What is left of the scrape's time bounds the look at a refused certificate.
            let left = timeout - (ContinuousClock.now - started)
            throw await describe(error, url: url, credentials: credentials, within: left)
        }
    }

    private func describe(
        _ error: any Error, url: String, credentials: HTTPClientCredentials?, within limit: Duration
    ) async -> ScrapeError {
        if let error = error as? HTTPClientError,
            error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            return ScrapeError("scrape timed out: \(error)", kind: .timedOut)
        }
        if let reason = await TLSFailure.explain(error, url: url, credentials: credentials, within: limit) {
            return ScrapeError(reason)
        }
        if let error = error as? HTTPClientError { return ScrapeError("HTTP error: \(error)") }
        return ScrapeError("\(error)")
    }
}

/// Runs `work`, failing with a timeout error when it takes longer than `limit`.
func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw ScrapeError("scrape timed out after \(limit)", kind: .timedOut)
        }
        return result
    }
}
