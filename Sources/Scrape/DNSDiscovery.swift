import DNSLookup

/// Prometheus `dns_sd_configs`, Alloy's `discovery.dns`: targets from A, AAAA, SRV, MX or NS
/// records of a list of names, looked up again every `refreshInterval`.
///
/// As in Prometheus: an SRV record gives `target:port` (the target without its trailing dot);
/// A and AAAA records give `address:port`, MX and NS records `host:port`, with the configured
/// port. A name that does not exist, or has no records of the type, has no targets; a name whose
/// lookup fails keeps the targets it had, and the failure is reported.
public struct DNSDiscovery: Sendable {
    public var names: [String]
    public var type: DNSRecordType
    /// The port of A, AAAA, MX and NS targets; SRV records carry their own.
    public var port: Int
    public var refreshInterval: Duration

    public static let nameLabel = "__meta_dns_name"
    public static let srvTargetLabel = "__meta_dns_srv_record_target"
    public static let srvPortLabel = "__meta_dns_srv_record_port"
    public static let mxTargetLabel = "__meta_dns_mx_record_target"
    public static let nsTargetLabel = "__meta_dns_ns_record_target"

    public init(names: [String], type: DNSRecordType = .srv, port: Int = 0, refreshInterval: Duration = .seconds(30)) {
        self.names = names
        self.type = type
        self.port = port
        self.refreshInterval = refreshInterval
    }

    /// The targets one name's records give.
    public func targets(name: String, records: [DNSRecord]) -> [[String: String]] {
        records.compactMap { record -> [String: String]? in
            var labels = [Self.nameLabel: name]
            switch record {
            case .srv(_, _, let port, let target):
                labels[Self.srvTargetLabel] = target
                labels[Self.srvPortLabel] = String(port)
                labels["__address__"] = Self.hostPort(Self.trimDot(target), Int(port))
            case .mx(_, let exchange):
                labels[Self.mxTargetLabel] = exchange
                labels["__address__"] = Self.hostPort(Self.trimDot(exchange), port)
            case .ns(let host):
                labels[Self.nsTargetLabel] = host
                labels["__address__"] = Self.hostPort(Self.trimDot(host), port)
            case .a(let address), .aaaa(let address):
                labels["__address__"] = Self.hostPort(address, port)
            case .cname, .other:
                // A CNAME comes with the records of the name it points to.
                return nil
            }
            return labels
        }
    }

    /// Looks every name up once: the targets of each name that answered, and the failures.
    public func lookUp(with resolver: some DNSResolving) async -> (
        targets: [String: [[String: String]]], errors: [DNSError]
    ) {
        var found: [String: [[String: String]]] = [:]
        var errors: [DNSError] = []
        for name in names {
            do {
                found[name] = targets(name: name, records: try await resolver.records(name, type: type))
            } catch {
                errors.append(error)
            }
        }
        return (found, errors)
    }

    /// Emits the targets now and whenever they change after a refresh, every `refreshInterval`;
    /// a name whose lookup fails keeps its last targets and the failure goes to `onError`.
    /// `onRefresh` hears of every round with its failures (none when all names answered).
    public func updates(
        resolver: some DNSResolving,
        onRefresh: @escaping @Sendable ([DNSError]) -> Void = { _ in }
    ) -> AsyncStream<[[String: String]]> {
        let discovery = self
        return AsyncStream { continuation in
            let task = Task {
                var last: [String: [[String: String]]] = [:]
                var emitted: [[String: String]]?
                while !Task.isCancelled {
                    let (found, errors) = await discovery.lookUp(with: resolver)
                    last.merge(found) { $1 }
                    onRefresh(errors)
                    let targets = discovery.names.flatMap { last[$0] ?? [] }
                    if targets != emitted {
                        emitted = targets
                        continuation.yield(targets)
                    }
                    try? await Task.sleep(for: discovery.refreshInterval)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func trimDot(_ name: String) -> String {
        name.hasSuffix(".") && name != "." ? String(name.dropLast()) : name
    }

    /// `host:port`, with brackets around an IPv6 address.
    static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
