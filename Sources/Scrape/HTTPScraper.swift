import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import Primitives

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
    /// instead of being retried until the timeout; no tracing spans.
    ///
    /// A connection reads one buffer per wake-up (`maxMessagesPerRead` 1), of at most 16 KiB.
    /// NIO keeps a pool of receive buffers per connection as large as that count, each as large
    /// as the connection's reads have grown: at NIO's defaults (4 reads, 64 KiB), every
    /// kept-alive target connection held about 192 KiB between scrapes (98 MB at 500 targets);
    /// one buffer of at most 16 KiB holds 8 MB there. A body takes more reads (a 180 KB one
    /// twelve instead of three), each handed to ``ScrapeResponseReader`` on the same loop.
    public static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.decompression = .disabled
        configuration.connectionPool.idleTimeout = .seconds(120)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.http1_1ConnectionDebugInitializer = limitReceiveBuffers
        configuration.http2ConnectionDebugInitializer = limitReceiveBuffers
        // No spans: agentd bootstraps no tracer, and the no-op tracer's spans still cost each
        // request its attribute strings (about 1 % of the agent's CPU at 100,000 samples/s).
        configuration.tracing.tracer = nil
        return configuration
    }

    /// One receive buffer per connection, at most ``receiveBufferLimit`` bytes.
    @Sendable private static func limitReceiveBuffers(_ channel: any Channel) -> EventLoopFuture<Void> {
        channel.setOption(ChannelOptions.maxMessagesPerRead, value: 1).flatMap {
            channel.setOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4096, maximum: receiveBufferLimit))
        }
    }

    /// The most a scrape connection reads at once.
    static let receiveBufferLimit = 16 << 10

    /// A client with ``clientConfiguration`` (the agent's clear-text gossip uses it).
    public static func makeClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }

    /// The scraping clients, one per shape of job, all with ``clientConfiguration``.
    public static func makePool() -> HTTPClientPool { HTTPClientPool(configuration: clientConfiguration) }

    /// The body of `url`, decoded; `bodySizeLimit` (0: none) bounds the decoded bytes.
    ///
    /// A plain `http://` URL without a proxy goes over ``connections`` (a redirect then through
    /// AsyncHTTPClient); any other through the pool's AsyncHTTPClient client. Either way the
    /// response is read on the connection's event loop by a ``ScrapeResponseAccumulator`` and
    /// reaches the scrape's task once, whole: streaming it through an async sequence resumed the
    /// task at every chunk (tens per body, each a wake-up of another thread). Each target's
    /// requests go to one event loop (by its URL), so its connection is always on the loop that
    /// reads for it, and one deadline on that loop bounds the whole exchange, body included.
    public func fetch(
        url: String, timeout: Duration, bodySizeLimit: Int, credentials: HTTPClientCredentials?
    ) async throws(ScrapeError) -> ScrapeResponse {
        let started = ContinuousClock.now
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        if let plain = PlainHTTPURL(url), credentials?.settings.proxyURL == nil {
            let authorization: String?
            do {
                authorization = try credentials?.authorizationHeader()
            } catch {
                throw ScrapeError(error.description)
            }
            var headers = HTTPHeaders()
            headers.reserveCapacity(6)
            headers.add(name: "Host", value: plain.authority)
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            Self.addScrapeHeaders(&headers, timeout: timeout)
            let loop = Self.loop(for: url, among: Self.singletonLoops)
            let outcome: PlainHTTPOutcome<ScrapeResponse>
            do {
                outcome = try await Self.connections.send(
                    HTTPRequestHead(version: .http1_1, method: .GET, uri: plain.target, headers: headers), to: plain,
                    on: loop, deadline: deadline, reader: ScrapeResponseAccumulator(limit: bodySizeLimit))
            } catch let error as ScrapeError {
                throw error
            } catch let error as PlainHTTPError {
                throw error.timedOut
                    ? ScrapeError("scrape timed out after \(timeout): \(error.message)", kind: .timedOut)
                    : ScrapeError(error.message)
            } catch {
                throw ScrapeError("\(error)")
            }
            switch outcome {
            case .response(let response): return response
            case .redirect: break  // AsyncHTTPClient follows it, or refuses it, as the job says.
            }
        }
        let client: HTTPClient
        let request: HTTPClient.Request
        do {
            let prepared: HTTPClientRequest
            (client, prepared) = try pool.prepare(url: url, credentials: credentials)
            var headers = prepared.headers
            Self.addScrapeHeaders(&headers, timeout: timeout)
            request = try HTTPClient.Request(
                url: prepared.url, method: .GET, headers: headers, tlsConfiguration: prepared.tlsConfiguration)
        } catch let error as CredentialError {
            // A file that cannot be read: the message names it and the job, never its content.
            throw ScrapeError(error.description)
        } catch {
            throw ScrapeError("invalid scrape URL \(url): \(error)")
        }
        let loop = Self.loop(for: url, among: Self.eventLoops(of: client))
        let task = client.execute(
            request: request, delegate: ScrapeResponseReader(limit: bodySizeLimit),
            eventLoop: .delegateAndChannel(on: loop), deadline: deadline)
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch let error as ScrapeError {
            throw error
        } catch {
            // What is left of the scrape's time bounds the look at a refused certificate.
            let left = timeout - (ContinuousClock.now - started)
            throw await describe(error, url: url, credentials: credentials, within: left)
        }
    }

    /// The event loops of `client`'s group, listed once per group.
    private static func eventLoops(of client: HTTPClient) -> [any EventLoop] {
        let group = client.eventLoopGroup
        if group === MultiThreadedEventLoopGroup.singleton { return singletonLoops }
        return Array(group.makeIterator())
    }

    private static let singletonLoops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())

    /// The loop of `loops` that every request for `url` goes to.
    private static func loop(for url: String, among loops: [any EventLoop]) -> any EventLoop {
        loops[Int(UInt(bitPattern: url.hashValue) % UInt(loops.count))]
    }

    /// What every scrape request asks for, whichever client sends it.
    private static func addScrapeHeaders(_ headers: inout HTTPHeaders, timeout: Duration) {
        headers.add(name: "Accept", value: acceptHeader)
        headers.add(name: "Accept-Encoding", value: "gzip")
        headers.add(name: "User-Agent", value: "agentd/0.1.0")
        headers.add(name: "X-Prometheus-Scrape-Timeout-Seconds", value: String(timeout.seconds))
    }

    /// The kept-alive connections of plain `http://` scrapes, for the whole process (on the
    /// singleton event loops, as every scraping client's).
    static let connections = PlainHTTPConnections<ScrapeResponseAccumulator>(receiveBufferLimit: receiveBufferLimit)

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
