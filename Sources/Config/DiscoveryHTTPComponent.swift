import HTTPSecurity
import Scrape

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `discovery.http "LABEL" { url = "…" }`: targets from an HTTP endpoint, as Prometheus's
/// `http_sd_configs`, with the HTTP client settings `prometheus.scrape` has.
public struct DiscoveryHTTPComponent: Sendable, Hashable {
    public var id: ComponentID
    public var url: String
    /// `refresh_interval`: 60 s by default, as in Alloy.
    public var refreshInterval: Duration = .seconds(60)
    /// TLS, credentials, redirects, HTTP/2 and proxy for the requests.
    public var http = HTTPClientSettings()

    public init(id: ComponentID, url: String) {
        self.id = id
        self.url = url
    }

    /// The discovery these settings describe.
    public var discovery: HTTPDiscovery { HTTPDiscovery(url: url, refreshInterval: refreshInterval) }

    static let schema = BlockSchema(
        attributes: Set(["url", "refresh_interval"]).union(HTTPClientBlocks.attributes),
        blocks: HTTPClientBlocks.blocks, required: ["url"],
        alloyOnlyAttributes: HTTPClientBlocks.alloyOnlyAttributes, alloyOnlyBlocks: HTTPClientBlocks.alloyOnlyBlocks)

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        self.init(id: id, url: try decoder.string("url", default: ""))
        guard let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            components.host?.isEmpty == false
        else {
            throw decoder.error(
                "attribute \"url\" of \(decoder.title) must be an http:// or https:// URL with a host, not \"\(url)\"",
                at: try decoder.value("url")?.position ?? decoder.block.position)
        }
        refreshInterval = try decoder.duration("refresh_interval", default: refreshInterval)
        guard refreshInterval > .zero else {
            throw decoder.error(
                "attribute \"refresh_interval\" of \(decoder.title) must be greater than 0",
                at: try decoder.value("refresh_interval")?.position ?? decoder.block.position)
        }
        http = try HTTPClientBlocks.decode(decoder)
    }
}
