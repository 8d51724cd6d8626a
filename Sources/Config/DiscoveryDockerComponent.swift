import HTTPSecurity
import Scrape

/// `discovery.docker "LABEL" { host = "unix:///var/run/docker.sock" }`: the containers of a Docker
/// Engine, as Prometheus's `docker_sd_configs`. Over `tcp://`, `http://` and `https://` it takes
/// the HTTP client settings `discovery.http` has (a `tls_config` makes `tcp://` HTTPS); over a
/// unix socket, credentials, TLS and a proxy mean nothing and are refused.
public struct DiscoveryDockerComponent: Sendable, Hashable {
    public var id: ComponentID
    public var host: DockerDiscovery.Host
    /// `port`: 80 by default, as in Alloy.
    public var port = 80
    /// `host_networking_host`: `"localhost"` by default.
    public var hostNetworkingHost = "localhost"
    /// The `filter` blocks, in order.
    public var filters: [DockerDiscovery.Filter] = []
    /// `match_first_network`: true by default.
    public var matchFirstNetwork = true
    /// `refresh_interval`: 60 s by default, as in Alloy.
    public var refreshInterval: Duration = .seconds(60)
    /// TLS, credentials, redirects, HTTP/2 and proxy for the requests over the network.
    public var http = HTTPClientSettings()

    public init(id: ComponentID, host: DockerDiscovery.Host) {
        self.id = id
        self.host = host
    }

    /// The discovery these settings describe.
    public var discovery: DockerDiscovery {
        DockerDiscovery(
            host: host, port: port, hostNetworkingHost: hostNetworkingHost, filters: filters,
            matchFirstNetwork: matchFirstNetwork, refreshInterval: refreshInterval)
    }

    static let schema = BlockSchema(
        attributes: Set(["host", "port", "host_networking_host", "refresh_interval", "match_first_network"])
            .union(HTTPClientBlocks.attributes),
        blocks: HTTPClientBlocks.blocks.union(["filter"]), required: ["host"],
        alloyOnlyAttributes: HTTPClientBlocks.alloyOnlyAttributes, alloyOnlyBlocks: HTTPClientBlocks.alloyOnlyBlocks)

    static let filterSchema = BlockSchema(attributes: ["name", "values"], required: ["name", "values"])

    /// The HTTP client settings a unix socket cannot honour (credentials, TLS, a proxy): refused
    /// there rather than ignored. `follow_redirects` and `enable_http2` are harmless and pass.
    static let networkOnly: Set<String> = [
        "tls_config", "basic_auth", "authorization", "bearer_token", "bearer_token_file", "proxy_url",
    ]

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        let text = try decoder.string("host", default: "")
        let hostPosition = try decoder.value("host")?.position ?? decoder.block.position
        let tls = try decoder.optionalBlock("tls_config") != nil
        guard let host = DockerDiscovery.Host(text, tls: tls) else {
            throw decoder.error(
                "attribute \"host\" of \(decoder.title) must be a unix:///path/to/socket, tcp://, http:// or https:// URL, not \"\(text)\"",
                at: hostPosition)
        }
        self.init(id: id, host: host)

        port = try decoder.int("port", default: port)
        guard port <= 65_535 else {
            throw decoder.error(
                "attribute \"port\" of \(decoder.title) must be at most 65535",
                at: try decoder.value("port")?.position ?? decoder.block.position)
        }
        hostNetworkingHost = try decoder.string("host_networking_host", default: hostNetworkingHost)
        matchFirstNetwork = try decoder.bool("match_first_network", default: matchFirstNetwork)
        refreshInterval = try decoder.duration("refresh_interval", default: refreshInterval)
        guard refreshInterval > .zero else {
            throw decoder.error(
                "attribute \"refresh_interval\" of \(decoder.title) must be greater than 0",
                at: try decoder.value("refresh_interval")?.position ?? decoder.block.position)
        }
        for block in decoder.blocks("filter") {
            let filter = try BlockDecoder(
                block, title: "filter", schema: Self.filterSchema, evaluator: decoder.evaluator)
            let name = try filter.string("name", default: "")
            guard !name.isEmpty else {
                throw filter.error(
                    "attribute \"name\" of filter in \(decoder.title) must not be empty",
                    at: try filter.value("name")?.position ?? block.position)
            }
            filters.append(DockerDiscovery.Filter(name: name, values: try filter.stringList("values") ?? []))
        }

        if case .unix = host {
            let client =
                decoder.block.body.compactMap { statement -> (String, SourcePosition)? in
                    switch statement {
                    case .attribute(let attribute) where Self.networkOnly.contains(attribute.name):
                        (attribute.name, attribute.position)
                    case .block(let block) where Self.networkOnly.contains(block.name):
                        (block.name, block.position)
                    default: nil
                    }
                }
            if let (name, position) = client.first {
                throw decoder.error(
                    "\"\(name)\" of \(decoder.title) applies to a tcp://, http:// or https:// host only, not to the unix socket \(host)",
                    at: position)
            }
        }
        http = try HTTPClientBlocks.decode(decoder)
    }
}
