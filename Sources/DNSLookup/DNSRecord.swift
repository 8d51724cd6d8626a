/// A resource record of a DNS answer, for the types agentd asks for.
public enum DNSRecord: Sendable, Hashable {
    case a(String)
    case aaaa(String)
    /// `target` keeps its trailing dot, as the wire name reads (`web.example.org.`).
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    case mx(preference: UInt16, exchange: String)
    case ns(String)
    case cname(String)
    /// Another type, kept by its number so a caller can say what it skipped.
    case other(type: UInt16)
}

/// The record types a lookup asks for, by Prometheus's names.
public enum DNSRecordType: String, Sendable, Hashable, CaseIterable {
    case a = "A"
    case aaaa = "AAAA"
    case srv = "SRV"
    case mx = "MX"
    case ns = "NS"

    /// The type's number on the wire.
    public var code: UInt16 {
        switch self {
        case .a: 1
        case .aaaa: 28
        case .srv: 33
        case .mx: 15
        case .ns: 2
        }
    }
}
