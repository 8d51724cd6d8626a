/// One entry of `--cluster.join-addresses`, as Alloy reads it: an IP address or a DNS name, with
/// an optional port (the HTTP port by default), and optionally one of the prefixes `dns+` (A and
/// AAAA records), `dnssrv+` (SRV records, each target looked up for its addresses) or
/// `dnssrvnoa+` (SRV records, the targets taken as they are). Without a prefix a name is looked
/// up for A and AAAA records and, when it has none, for SRV records.
public struct JoinAddress: Sendable, Hashable {
    public enum Lookup: Sendable, Hashable {
        /// No prefix: an IP address as it is, else A/AAAA, else SRV.
        case automatic
        /// `dns+`
        case addresses
        /// `dnssrv+`
        case srv
        /// `dnssrvnoa+`
        case srvNoAddresses
    }

    public var lookup: Lookup
    public var host: String
    /// The port given with the address; nil: SRV records' own, else the default port.
    public var port: Int?

    /// Parses `entry`; nil for an empty host or a port that is not a number from 1 to 65535.
    public init?(_ entry: String) {
        var rest = Substring(entry)
        lookup = .automatic
        for (prefix, kind) in [("dnssrvnoa+", Lookup.srvNoAddresses), ("dnssrv+", .srv), ("dns+", .addresses)]
        where rest.hasPrefix(prefix) {
            lookup = kind
            rest = rest.dropFirst(prefix.count)
            break
        }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.isEmpty {
                port = nil
            } else {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65_535).contains(number) else {
                    return nil
                }
                port = number
            }
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(number) else {
                return nil
            }
            port = number
        } else {
            // A bare IPv6 address has several colons and no port.
            host = String(rest)
            port = nil
        }
        guard !host.isEmpty else { return nil }
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    public var isIPAddress: Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    /// The `host:port` addresses this entry stands for now, each once, and the lookups that failed.
    public func resolve(defaultPort: Int, with resolver: some DNSResolving) async -> (
        addresses: [String], errors: [DNSError]
    ) {
        var errors: [DNSError] = []
        var found: [String] = []
        func addresses(of host: String, port: Int) async {
            do {
                found += try await resolver.addresses(host).map { Self.hostPort($0, port) }
            } catch {
                errors.append(error)
            }
        }
        func srv(addressesToo: Bool) async {
            let records: [DNSRecord]
            do {
                records = try await resolver.records(host, type: .srv)
            } catch {
                errors.append(error)
                return
            }
            for case .srv(_, _, let srvPort, let target) in records {
                let name = target.hasSuffix(".") ? String(target.dropLast()) : target
                let port = self.port ?? Int(srvPort)
                if addressesToo {
                    await addresses(of: name, port: port)
                } else {
                    found.append(Self.hostPort(name, port))
                }
            }
        }
        switch lookup {
        case .automatic where isIPAddress:
            found.append(Self.hostPort(host, port ?? defaultPort))
        case .automatic:
            await addresses(of: host, port: port ?? defaultPort)
            if found.isEmpty { await srv(addressesToo: true) }
        case .addresses:
            await addresses(of: host, port: port ?? defaultPort)
        case .srv:
            await srv(addressesToo: true)
        case .srvNoAddresses:
            await srv(addressesToo: false)
        }
        var unique: Set<String> = []
        return (found.filter { unique.insert($0).inserted }, errors)
    }

    /// `host:port`, with brackets around an IPv6 address.
    static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
