#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension DockerDiscovery {
    /// Where the Docker Engine API listens: Alloy's `host` attribute.
    public enum Host: Sendable, Hashable, CustomStringConvertible {
        /// `unix:///var/run/docker.sock`: the socket's path.
        case unix(path: String)
        /// `tcp://host:2375` (plain HTTP, or HTTPS with a `tls_config`), `http://…`, `https://…`:
        /// the base URL requests are made under.
        case http(baseURL: String)

        /// Parses `host`; nil for another scheme, a unix URL without a path or a network URL
        /// without a host. `tls` makes `tcp://` mean HTTPS, as the Docker CLI's `--tlsverify`.
        public init?(_ host: String, tls: Bool = false) {
            guard let components = URLComponents(string: host), let scheme = components.scheme?.lowercased() else {
                return nil
            }
            switch scheme {
            case "unix":
                guard components.host?.isEmpty != false, !components.path.isEmpty else { return nil }
                self = .unix(path: components.path)
            case "tcp", "http", "https":
                guard let name = components.host, !name.isEmpty else { return nil }
                var base = URLComponents()
                base.scheme = scheme == "tcp" ? (tls ? "https" : "http") : scheme
                base.host = name
                base.port = components.port
                base.path = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
                guard let url = base.string else { return nil }
                self = .http(baseURL: url)
            default:
                return nil
            }
        }

        /// The URL of an API path (`/v1.41/containers/json?…`); a unix socket's is an
        /// `http+unix://` URL, which AsyncHTTPClient connects to the socket.
        public func url(_ pathAndQuery: String) -> String {
            switch self {
            case .unix(let path):
                return "http+unix://\(DockerDiscovery.percentEncoded(path))\(pathAndQuery)"
            case .http(let baseURL):
                return baseURL + pathAndQuery
            }
        }

        public var description: String {
            switch self {
            case .unix(let path): "unix://\(path)"
            case .http(let baseURL): baseURL
            }
        }
    }

    /// A `filter` block: containers the list keeps (Docker's `filters` argument of
    /// `GET /containers/json`, e.g. `label` = `["com.example.scrape=true"]`).
    public struct Filter: Sendable, Hashable {
        public var name: String
        public var values: [String]

        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// The API versions this client speaks: it asks for the engine's own version if lower, as the
    /// Docker client's version negotiation does (`GET /_ping`, header `API-Version`).
    public static let newestAPIVersion = APIVersion(major: 1, minor: 47)
    /// What an engine that does not name its version speaks (the Docker client's fallback).
    public static let fallbackAPIVersion = APIVersion(major: 1, minor: 24)

    /// A Docker Engine API version, `1.41`.
    public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var major: Int
        public var minor: Int

        public init(major: Int, minor: Int) {
            self.major = major
            self.minor = minor
        }

        public init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0
            else { return nil }
            self.init(major: major, minor: minor)
        }

        /// The version to ask for, given the `API-Version` header of the engine's `/_ping`.
        public static func negotiated(engine header: String?) -> APIVersion {
            guard let header, let engine = APIVersion(header) else { return DockerDiscovery.fallbackAPIVersion }
            return min(engine, DockerDiscovery.newestAPIVersion)
        }

        public static func < (a: APIVersion, b: APIVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

        public var description: String { "\(major).\(minor)" }
    }

    /// The path and query of the container list: running containers, filtered.
    public func containersPath(version: APIVersion) -> String {
        guard !filters.isEmpty else { return "/v\(version)/containers/json" }
        // The Docker client's encoding: {"name": {"value": true, …}, …}.
        var merged: [String: [String: Bool]] = [:]
        for filter in filters {
            for value in filter.values { merged[filter.name, default: [:]][value] = true }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(merged)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "/v\(version)/containers/json?filters=\(Self.percentEncoded(json))"
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var encoded = ""
        for byte in text.utf8 {
            let unreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                encoded.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                encoded += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
            }
        }
        return encoded
    }
}

/// One entry of the Engine API's `GET /containers/json`, the fields discovery reads.
public struct DockerContainer: Sendable, Hashable, Decodable {
    public var id: String
    /// `/name`, as the API gives it (with the slash).
    public var names: [String]
    public var labels: [String: String]
    public var ports: [Port]
    /// `HostConfig.NetworkMode`: `bridge`, `host`, `none`, `container:ID`, a network's name.
    public var networkMode: String
    /// `NetworkSettings.Networks`, by network name; an engine may give a network as null.
    public var networks: [String: Network?]

    public struct Port: Sendable, Hashable, Decodable {
        public var ip: String
        public var privatePort: Int
        public var publicPort: Int
        /// `tcp`, `udp`, `sctp`.
        public var type: String

        public init(ip: String = "", privatePort: Int, publicPort: Int = 0, type: String = "tcp") {
            self.ip = ip
            self.privatePort = privatePort
            self.publicPort = publicPort
            self.type = type
        }

        enum CodingKeys: String, CodingKey {
            case ip = "IP"
            case privatePort = "PrivatePort"
            case publicPort = "PublicPort"
            case type = "Type"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            ip = try container.decodeIfPresent(String.self, forKey: .ip) ?? ""
            privatePort = try container.decodeIfPresent(Int.self, forKey: .privatePort) ?? 0
            publicPort = try container.decodeIfPresent(Int.self, forKey: .publicPort) ?? 0
            type = try container.decodeIfPresent(String.self, forKey: .type) ?? ""
        }
    }

    /// A container's endpoint on one network.
    public struct Network: Sendable, Hashable, Decodable {
        public var networkID: String
        public var ipAddress: String

        public init(networkID: String, ipAddress: String) {
            self.networkID = networkID
            self.ipAddress = ipAddress
        }

        enum CodingKeys: String, CodingKey {
            case networkID = "NetworkID"
            case ipAddress = "IPAddress"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            networkID = try container.decodeIfPresent(String.self, forKey: .networkID) ?? ""
            ipAddress = try container.decodeIfPresent(String.self, forKey: .ipAddress) ?? ""
        }
    }

    public init(
        id: String, names: [String], labels: [String: String] = [:], ports: [Port] = [], networkMode: String = "",
        networks: [String: Network?] = [:]
    ) {
        self.id = id
        self.names = names
        self.labels = labels
        self.ports = ports
        self.networkMode = networkMode
        self.networks = networks
    }

    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case names = "Names"
        case labels = "Labels"
        case ports = "Ports"
        case hostConfig = "HostConfig"
        case networkSettings = "NetworkSettings"
    }

    private enum HostConfigKeys: String, CodingKey { case networkMode = "NetworkMode" }
    private enum NetworkSettingsKeys: String, CodingKey { case networks = "Networks" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        names = try container.decodeIfPresent([String].self, forKey: .names) ?? []
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        ports = try container.decodeIfPresent([Port].self, forKey: .ports) ?? []
        networkMode = ""
        if try container.contains(.hostConfig) && !container.decodeNil(forKey: .hostConfig) {
            let hostConfig = try container.nestedContainer(keyedBy: HostConfigKeys.self, forKey: .hostConfig)
            networkMode = try hostConfig.decodeIfPresent(String.self, forKey: .networkMode) ?? ""
        }
        networks = [:]
        if try container.contains(.networkSettings) && !container.decodeNil(forKey: .networkSettings) {
            let settings = try container.nestedContainer(keyedBy: NetworkSettingsKeys.self, forKey: .networkSettings)
            networks = try settings.decodeIfPresent([String: Network?].self, forKey: .networks) ?? [:]
        }
    }
}

/// One entry of the Engine API's `GET /networks`.
public struct DockerNetwork: Sendable, Hashable, Decodable {
    public var id: String
    public var name: String
    /// `local`, `swarm`, `global`.
    public var scope: String
    public var isInternal: Bool
    public var isIngress: Bool
    public var labels: [String: String]

    public init(
        id: String, name: String, scope: String = "local", isInternal: Bool = false, isIngress: Bool = false,
        labels: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.isInternal = isInternal
        self.isIngress = isIngress
        self.labels = labels
    }

    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case name = "Name"
        case scope = "Scope"
        case isInternal = "Internal"
        case isIngress = "Ingress"
        case labels = "Labels"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        scope = try container.decodeIfPresent(String.self, forKey: .scope) ?? ""
        isInternal = try container.decodeIfPresent(Bool.self, forKey: .isInternal) ?? false
        isIngress = try container.decodeIfPresent(Bool.self, forKey: .isIngress) ?? false
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}
