import DNSLookup
import Scrape

/// `discovery.dns "LABEL" { names = [...] }`: targets from DNS records, as Prometheus's
/// `dns_sd_configs`.
public struct DiscoveryDNSComponent: Sendable, Hashable {
    public var id: ComponentID
    public var names: [String]
    /// `type`: `"SRV"` (the default), `"A"`, `"AAAA"`, `"MX"` or `"NS"`.
    public var type: DNSRecordType = .srv
    /// `port`: required for every type but SRV.
    public var port = 0
    /// `refresh_interval`: 30 s by default, as in Alloy.
    public var refreshInterval: Duration = .seconds(30)

    public init(id: ComponentID, names: [String]) {
        self.id = id
        self.names = names
    }

    /// The discovery these settings describe.
    public var discovery: DNSDiscovery {
        DNSDiscovery(names: names, type: type, port: port, refreshInterval: refreshInterval)
    }

    static let schema = BlockSchema(
        attributes: ["names", "type", "port", "refresh_interval"], required: ["names"])

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        self.init(id: id, names: try decoder.stringList("names") ?? [])
        if names.isEmpty || names.contains(where: \.isEmpty) {
            throw decoder.error(
                "attribute \"names\" of \(decoder.title) must list at least one name, none empty",
                at: try decoder.value("names")?.position ?? decoder.block.position)
        }
        if let text = try decoder.optionalString("type") {
            guard let type = DNSRecordType(rawValue: text.uppercased()) else {
                let known = DNSRecordType.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw decoder.error(
                    "attribute \"type\" of \(decoder.title) must be one of \(known), not \"\(text)\"",
                    at: try decoder.value("type")?.position ?? decoder.block.position)
            }
            self.type = type
        }
        port = try decoder.int("port", default: 0)
        guard port <= 65_535 else {
            throw decoder.error(
                "attribute \"port\" of \(decoder.title) must be at most 65535",
                at: try decoder.value("port")?.position ?? decoder.block.position)
        }
        if type != .srv && port == 0 {
            throw decoder.error(
                "\(decoder.title) needs a port for \(type.rawValue) records (only SRV records carry their own)",
                at: decoder.block.position)
        }
        refreshInterval = try decoder.duration("refresh_interval", default: refreshInterval)
        guard refreshInterval > .zero else {
            throw decoder.error(
                "attribute \"refresh_interval\" of \(decoder.title) must be greater than 0",
                at: try decoder.value("refresh_interval")?.position ?? decoder.block.position)
        }
    }
}
