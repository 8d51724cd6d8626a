import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Prometheus `docker_sd_configs`, Alloy's `discovery.docker`: the running containers of a Docker
/// Engine (or of anything speaking its API, as Podman's service), listed again every
/// `refreshInterval`, one target per container, network and TCP port
/// (``targets(containers:networks:)``).
///
/// Each refresh asks `GET /containers/json` (with the `filter` blocks) and `GET /networks`. The
/// API version is negotiated as the Docker client does: `GET /_ping` names the engine's
/// (`API-Version`), and requests use it or ``newestAPIVersion``, whichever is lower; a failed
/// refresh negotiates again. A failed refresh (no socket, a refused connection, a status, a body
/// that does not parse) keeps the last good targets and is reported, naming the host.
public struct DockerDiscovery: Sendable {
    public var host: Host
    /// The port of a container's targets when it exposes no TCP port.
    public var port: Int
    /// The address of a container in `host` network mode (which lists no ports).
    public var hostNetworkingHost: String
    public var filters: [Filter]
    /// With several networks, only the first by name gives targets.
    public var matchFirstNetwork: Bool
    public var refreshInterval: Duration
    /// Largest body read; a bigger one fails the refresh.
    public var bodySizeLimit = 32 << 20
    /// What `sockaddr_un` holds, less the terminating zero.
    static let longestSocketPath = 107

    public init(
        host: Host, port: Int = 80, hostNetworkingHost: String = "localhost", filters: [Filter] = [],
        matchFirstNetwork: Bool = true, refreshInterval: Duration = .seconds(60)
    ) {
        self.host = host
        self.port = port
        self.hostNetworkingHost = hostNetworkingHost
        self.filters = filters
        self.matchFirstNetwork = matchFirstNetwork
        self.refreshInterval = refreshInterval
    }

    /// Lists the containers and networks once, at `version` (negotiated first when nil), and
    /// returns the targets and the version used.
    public func fetch(pool: HTTPClientPool, credentials: HTTPClientCredentials?, version known: APIVersion? = nil)
        async throws(DockerDiscoveryError) -> (targets: [[String: String]], version: APIVersion)
    {
        if case .unix(let path) = host {
            guard path.utf8.count <= Self.longestSocketPath else {
                throw DockerDiscoveryError(
                    host: host,
                    message:
                        "the socket path is \(path.utf8.count) bytes long; a unix socket's is at most \(Self.longestSocketPath)"
                )
            }
            guard FileManager.default.fileExists(atPath: path) else {
                throw DockerDiscoveryError(
                    host: host,
                    message: "no socket at \(path); is the Docker daemon (or podman system service) running?")
            }
        }
        let version: APIVersion
        if let known {
            version = known
        } else {
            version = try await negotiate(pool: pool, credentials: credentials)
        }
        let containers: [DockerContainer] = try await decode(
            get(containersPath(version: version), pool: pool, credentials: credentials), what: "container list")
        let networks: [DockerNetwork] = try await decode(
            get("/v\(version)/networks", pool: pool, credentials: credentials), what: "network list")
        return (targets(containers: containers, networks: networks), version)
    }

    /// The version to speak: the engine's (from `/_ping`) or ``newestAPIVersion``, whichever is lower.
    func negotiate(pool: HTTPClientPool, credentials: HTTPClientCredentials?) async throws(DockerDiscoveryError)
        -> APIVersion
    {
        let (_, headers) = try await request("/_ping", pool: pool, credentials: credentials)
        return .negotiated(engine: headers.first(name: "API-Version"))
    }

    private func get(_ path: String, pool: HTTPClientPool, credentials: HTTPClientCredentials?)
        async throws(DockerDiscoveryError) -> ByteBuffer
    {
        try await request(path, pool: pool, credentials: credentials).body
    }

    /// One GET; a status other than 200 throws with the engine's message.
    private func request(_ path: String, pool: HTTPClientPool, credentials: HTTPClientCredentials?)
        async throws(DockerDiscoveryError) -> (body: ByteBuffer, headers: HTTPHeaders)
    {
        let url = host.url(path)
        let client: HTTPClient
        var request: HTTPClientRequest
        do {
            (client, request) = try pool.prepare(url: url, credentials: credentials)
        } catch {
            throw DockerDiscoveryError(host: host, message: error.description)
        }
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "agentd/0.1.0")
        if case .unix = host {
            // Not the socket's path, which Go's servers (Docker's, Podman's) refuse as a host
            // name: the Docker client's name for its daemon.
            request.headers.replaceOrAdd(name: "Host", value: "docker")
        }
        let timeout = min(refreshInterval, .seconds(30))
        do {
            let response = try await client.execute(
                request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            let body = try await response.body.collect(upTo: bodySizeLimit)
            guard response.status == .ok else {
                throw DockerDiscoveryError(
                    host: host,
                    message: "GET \(path): HTTP status \(response.status.code) \(response.status.reasonPhrase)"
                        + (Self.engineMessage(body).map { ": \($0)" } ?? ""))
            }
            return (body, response.headers)
        } catch let error as DockerDiscoveryError {
            throw error
        } catch let error as NIOTooManyBytesError {
            throw DockerDiscoveryError(
                host: host, message: "GET \(path): response body larger than \(bodySizeLimit) bytes: \(error)")
        } catch {
            var reason: String?
            if case .http = host {
                reason = await TLSFailure.explain(error, url: url, credentials: credentials, within: timeout)
            }
            throw DockerDiscoveryError(host: host, message: "GET \(path): \(reason ?? "\(error)")")
        }
    }

    private func decode<T: Decodable>(_ body: ByteBuffer, what: String) throws(DockerDiscoveryError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw DockerDiscoveryError(host: host, message: "invalid \(what): \(error)")
        }
    }

    /// The `message` of an engine's error body (`{"message": "…"}`).
    static func engineMessage(_ body: ByteBuffer) -> String? {
        struct EngineError: Decodable { var message: String }
        return (try? JSONDecoder().decode(EngineError.self, from: Data(body.readableBytesView)))?.message
    }

    /// Emits the targets after the first good refresh and whenever they change, refreshing every
    /// `refreshInterval`; `onRefresh` hears of every round (nil: it succeeded).
    public func updates(
        pool: HTTPClientPool, credentials: HTTPClientCredentials?,
        onRefresh: @escaping @Sendable (DockerDiscoveryError?) -> Void = { _ in }
    ) -> AsyncStream<[[String: String]]> {
        let discovery = self
        return AsyncStream { continuation in
            let task = Task {
                var emitted: [[String: String]]?
                var version: APIVersion?
                while !Task.isCancelled {
                    do throws(DockerDiscoveryError) {
                        let (targets, used) = try await discovery.fetch(
                            pool: pool, credentials: credentials, version: version)
                        version = used
                        onRefresh(nil)
                        if targets != emitted {
                            emitted = targets
                            continuation.yield(targets)
                        }
                    } catch {
                        // The engine may have been replaced: negotiate again.
                        version = nil
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

/// A `discovery.docker` refresh that failed, naming the engine's host (the socket or URL).
public struct DockerDiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var host: DockerDiscovery.Host
    public var message: String

    public init(host: DockerDiscovery.Host, message: String) {
        self.host = host
        self.message = message
    }

    public var description: String { "\(host): \(message)" }
}
