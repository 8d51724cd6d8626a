/// What discovery and the cluster's join addresses need from DNS; ``SystemResolver`` asks the
/// system's resolver, tests give canned answers.
public protocol DNSResolving: Sendable {
    /// The answer records of type `type` for `name` (the resolver's search list applies). A name
    /// or a type that does not exist is an empty answer, not an error; a server failure,
    /// a timeout or an unreadable answer is an error.
    func records(_ name: String, type: DNSRecordType) async throws(DNSError) -> [DNSRecord]
    /// The IPv4 and IPv6 addresses of `host`, in the resolver's order, each once; an IP
    /// address is its own answer.
    func addresses(_ host: String) async throws(DNSError) -> [String]
}
