import CResolv
import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// DNS through the C library: record lookups with libresolv's `res_nsearch` (re-reading
/// `/etc/resolv.conf` each time, so a changed name server is used at the next lookup) and address
/// lookups with `getaddrinfo` (which also reads `/etc/hosts`). The blocking calls run on
/// Dispatch's threads, never on Swift's cooperative pool.
public struct SystemResolver: DNSResolving {
    public init() {}

    public func records(_ name: String, type: DNSRecordType) async throws(DNSError) -> [DNSRecord] {
        let result: Result<[DNSRecord], DNSError> = await Self.blocking { Self.search(name, type: type) }
        return try result.get()
    }

    public func addresses(_ host: String) async throws(DNSError) -> [String] {
        let result: Result<[String], DNSError> = await Self.blocking { Self.resolve(host) }
        return try result.get()
    }

    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    /// The `nameserver` lines of `/etc/resolv.conf`, for error messages.
    static func servers() -> [String] {
        guard let file = fopen("/etc/resolv.conf", "r") else { return [] }
        defer { fclose(file) }
        var servers: [String] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if fields.count >= 2, fields[0] == "nameserver" { servers.append(String(fields[1])) }
        }
        return servers
    }

    static func search(_ name: String, type: DNSRecordType) -> Result<[DNSRecord], DNSError> {
        func failure(_ reason: String) -> Result<[DNSRecord], DNSError> {
            .failure(DNSError(name: name, type: type.rawValue, servers: servers(), reason: reason))
        }
        var answer = [UInt8](repeating: 0, count: 65_535)
        var error: Int32 = 0
        let length = answer.withUnsafeMutableBufferPointer { buffer in
            agentd_dns_search(name, Int32(type.code), buffer.baseAddress, Int32(buffer.count), &error)
        }
        if length == -2 { return failure("cannot initialise the resolver (read /etc/resolv.conf)") }
        if length < 0 {
            switch error {
            case HOST_NOT_FOUND, NO_DATA: return .success([])
            case TRY_AGAIN: return failure("server failure or timeout")
            case NO_RECOVERY: return failure("the server refused the query or could not answer it")
            default: return failure("resolver error \(error)")
            }
        }
        guard Int(length) <= answer.count else { return failure("answer of \(length) bytes is too large") }
        do {
            return .success(try DNSMessage.answers(Array(answer[..<Int(length)])))
        } catch {
            return failure("unreadable answer: \(error)")
        }
    }

    /// glibc's `EAI_NODATA` (the name exists without addresses), declared only under _GNU_SOURCE.
    static let noData: Int32 = -5

    static func resolve(_ host: String) -> Result<[String], DNSError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0 else {
            if status == EAI_NONAME || status == Self.noData { return .success([]) }
            let reason = String(cString: gai_strerror(status))
            return .failure(DNSError(name: host, type: "A/AAAA", servers: servers(), reason: reason))
        }
        var addresses: [String] = []
        var next = list
        while let entry = next {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
                == 0
            {
                let address = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                if !addresses.contains(address) { addresses.append(address) }
            }
            next = entry.pointee.ai_next
        }
        return .success(addresses)
    }
}
