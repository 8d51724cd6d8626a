import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Prometheus `http_sd_configs`, Alloy's `discovery.http`: target groups fetched from a URL as
/// JSON (`[{"targets": ["host:port"], "labels": {…}}]`), again every `refreshInterval`.
///
/// As in Prometheus, the answer must be a 200 with `Content-Type: application/json`; every
/// target gets `__meta_url`. A failed refresh (a status, a network error, a body that does not
/// parse) keeps the last good targets and is reported.
public struct HTTPDiscovery: Sendable {
    public var url: String
    public var refreshInterval: Duration
    /// Largest body read; a bigger one fails the refresh.
    public var bodySizeLimit = 32 << 20

    public static let urlLabel = "__meta_url"

    public init(url: String, refreshInterval: Duration = .seconds(60)) {
        self.url = url
        self.refreshInterval = refreshInterval
    }

    /// The targets a response body lists; throws what is wrong with it, with line and column.
    public func targets(body: String) throws(HTTPDiscoveryError) -> [[String: String]] {
        do {
            let groups = try TargetGroup.decode(body, format: .json)
            return groups.flatMap { $0.targetLabels(adding: [Self.urlLabel: url]) }
        } catch {
            throw HTTPDiscoveryError(url: url, message: "invalid response body: \(error)")
        }
    }

    /// Fetches the targets once.
    public func fetch(pool: HTTPClientPool, credentials: HTTPClientCredentials?) async throws(HTTPDiscoveryError)
        -> [[String: String]]
    {
        let client: HTTPClient
        var request: HTTPClientRequest
        do {
            (client, request) = try pool.prepare(url: url, credentials: credentials)
        } catch {
            throw HTTPDiscoveryError(url: url, message: error.description)
        }
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "agentd/0.1.0")
        let timeout = min(refreshInterval, .seconds(30))
        let body: ByteBuffer
        do {
            let response = try await client.execute(
                request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            guard response.status == .ok else {
                throw HTTPDiscoveryError(
                    url: url,
                    message: "server returned HTTP status \(response.status.code) \(response.status.reasonPhrase)")
            }
            let contentType = response.headers.first(name: "Content-Type") ?? ""
            guard Self.isJSON(contentType) else {
                throw HTTPDiscoveryError(
                    url: url, message: "unsupported content type \"\(contentType)\" (expected application/json)")
            }
            body = try await response.body.collect(upTo: bodySizeLimit)
        } catch let error as HTTPDiscoveryError {
            throw error
        } catch let error as NIOTooManyBytesError {
            throw HTTPDiscoveryError(url: url, message: "response body larger than \(bodySizeLimit) bytes: \(error)")
        } catch {
            let reason = await TLSFailure.explain(error, url: url, credentials: credentials, within: timeout)
            throw HTTPDiscoveryError(url: url, message: reason ?? "\(error)")
        }
        return try targets(body: String(buffer: body))
    }

    /// `application/json`, optionally with a UTF-8 charset, as Prometheus accepts.
    static func isJSON(_ contentType: String) -> Bool {
        let parts = contentType.lowercased().split(separator: ";").map {
            String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }
        guard parts.first == "application/json" else { return false }
        return parts.dropFirst().allSatisfy { $0 == "charset=utf-8" || $0 == "charset=\"utf-8\"" }
    }

    /// Emits the targets after the first good fetch and whenever they change, fetching every
    /// `refreshInterval`; `onRefresh` hears of every round (nil: it succeeded).
    public func updates(
        pool: HTTPClientPool, credentials: HTTPClientCredentials?,
        onRefresh: @escaping @Sendable (HTTPDiscoveryError?) -> Void = { _ in }
    ) -> AsyncStream<[[String: String]]> {
        let discovery = self
        return AsyncStream { continuation in
            let task = Task {
                var emitted: [[String: String]]?
                while !Task.isCancelled {
                    do throws(HTTPDiscoveryError) {
                        let targets = try await discovery.fetch(pool: pool, credentials: credentials)
                        onRefresh(nil)
                        if targets != emitted {
                            emitted = targets
                            continuation.yield(targets)
                        }
                    } catch {
                        onRefresh(error)
                    }
                    try? await Task.sleep(for: discovery.refreshInterval)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A `discovery.http` refresh that failed, naming the URL.
public struct HTTPDiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var url: String
    public var message: String

    public init(url: String, message: String) {
        self.url = url
        self.message = message
    }

    public var description: String { "\(url): \(message)" }
}
