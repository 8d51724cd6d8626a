import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// HTTP clients that differ in what AsyncHTTPClient fixes per client rather than per request:
/// following redirects, HTTP/2, a proxy, and the name a TLS server is verified under
/// (`server_name`). Jobs and endpoints with the same shape share one client, its connection
/// pools and its TLS contexts; every client shares the process's event loops.
public final class HTTPClientPool: Sendable {
    /// What a client fixes for all its requests.
    public struct Shape: Sendable, Hashable {
        public var followRedirects = true
        public var enableHTTP2 = true
        public var proxy: Proxy?
        /// `server_name` → the host actually connected to.
        public var dnsOverride: [String: String] = [:]

        public init(followRedirects: Bool = true, enableHTTP2: Bool = true, proxy: Proxy? = nil) {
            self.followRedirects = followRedirects
            self.enableHTTP2 = enableHTTP2
            self.proxy = proxy
        }
    }

    /// An HTTP proxy, from `proxy_url`.
    public struct Proxy: Sendable, Hashable {
        public var host: String
        public var port: Int

        /// Parses `http://host:port`; nil for anything else.
        public init?(url: String) {
            guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http",
                let host = components.host, !host.isEmpty
            else { return nil }
            self.host = host
            self.port = components.port ?? 80
        }
    }

    private let base: HTTPClient.Configuration
    private let clients = Mutex<[Shape: HTTPClient]>([:])

    /// - Parameter configuration: what every client has in common (timeouts, decompression, pool).
    public init(configuration: HTTPClient.Configuration) {
        self.base = configuration
    }

    /// The client for `shape`, made on first use.
    public func client(_ shape: Shape) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[shape] { return client }
            var configuration = base
            configuration.redirectConfiguration =
                shape.followRedirects ? .follow(max: 10, allowCycles: false) : .disallow
            configuration.httpVersion = shape.enableHTTP2 ? .automatic : .http1Only
            configuration.proxy = shape.proxy.map { .server(host: $0.host, port: $0.port) }
            configuration.dnsOverride = shape.dnsOverride
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[shape] = client
            return client
        }
    }

    /// A request for `url` with `credentials` applied, and the client to send it with. With a
    /// `server_name`, the URL names the server name (so SNI and verification use it), the
    /// connection goes to the URL's own host, and `Host` keeps the original address.
    public func prepare(url: String, credentials: HTTPClientCredentials?) throws(CredentialError) -> (
        HTTPClient, HTTPClientRequest
    ) {
        let settings = credentials?.settings ?? HTTPClientSettings()
        var shape = Shape(
            followRedirects: settings.followRedirects, enableHTTP2: settings.enableHTTP2,
            proxy: settings.proxyURL.flatMap(Proxy.init(url:)))
        var target = url
        var host: String?
        if let serverName = settings.tls?.serverName, var components = URLComponents(string: url),
            let original = components.host, original != serverName
        {
            host = components.port.map { "\(original):\($0)" } ?? original
            components.host = serverName
            shape.dnsOverride = [serverName: original]
            target = components.string ?? url
        }
        var request = HTTPClientRequest(url: target)
        if let host { request.headers.add(name: "Host", value: host) }
        try credentials?.authorize(&request)
        return (client(shape), request)
    }

    /// A pool dropped without ``shutdown()`` — its owner failed to start — still shuts its clients
    /// down, in the background.
    deinit {
        for client in clients.withLock({ Array($0.values) }) { _ = client.shutdown() }
    }

    /// Shuts every client down.
    public func shutdown() async throws {
        let all = clients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try await client.shutdown() }
    }
}
