/// A lookup that failed, naming what was asked and of which servers:
/// `SRV lookup of _agentd._tcp.example.org failed (servers 127.0.0.1): server failure or timeout`.
public struct DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name looked up, as given.
    public var name: String
    /// `A`, `AAAA`, `SRV`, `MX`, `NS`, or `A/AAAA` for an address lookup.
    public var type: String
    /// The name servers asked (from resolv.conf), when known.
    public var servers: [String]
    /// What went wrong.
    public var reason: String

    public init(name: String, type: String, servers: [String], reason: String) {
        self.name = name
        self.type = type
        self.servers = servers
        self.reason = reason
    }

    public var description: String {
        let asked = servers.isEmpty ? "" : " (servers \(servers.joined(separator: ", ")))"
        return "\(type) lookup of \(name) failed\(asked): \(reason)"
    }
}
