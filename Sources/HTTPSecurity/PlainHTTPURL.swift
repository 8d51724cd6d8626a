/// An `http://` URL cut into what a plain HTTP/1.1 request needs: where to connect, the `Host`
/// header and the request target. Anything else (another scheme, user information, a malformed
/// authority) is nil, and left to AsyncHTTPClient.
public struct PlainHTTPURL: Hashable, Sendable {
    /// The host to connect to (an IPv6 address without its brackets).
    public var host: String
    public var port: Int
    /// The URL's authority, as the `Host` header sends it.
    public var authority: String
    /// The path and query, `/` at least; the fragment is not sent.
    public var target: String

    public init?(_ url: String) {
        let bytes = Array(url.utf8)
        let scheme = Array("http://".utf8)
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ $0 == $1 || ($1 >= 0x61 && $0 | 0x20 == $1) })
        else { return nil }
        var end = scheme.count
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
            bytes[end] != UInt8(ascii: "#")
        {
            end += 1
        }
        let authority = bytes[scheme.count..<end]
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { return nil }
        var hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>? = nil
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")), close > authority.startIndex + 1 else {
                return nil
            }
            hostBytes = authority[(authority.startIndex + 1)..<close]
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { return nil }
                portBytes = rest.dropFirst()
            }
        } else {
            hostBytes = authority
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                hostBytes = authority[..<colon]
                portBytes = authority[(colon + 1)...]
            }
            guard !hostBytes.contains(UInt8(ascii: ":")) else { return nil }
        }
        guard !hostBytes.isEmpty else { return nil }
        var port = 80
        if let portBytes {
            guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            port = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard port > 0 && port <= 65_535 else { return nil }
        }
        var targetEnd = end
        while targetEnd < bytes.count, bytes[targetEnd] != UInt8(ascii: "#") { targetEnd += 1 }
        var target = String(decoding: bytes[end..<targetEnd], as: UTF8.self)
        if !target.hasPrefix("/") { target = "/" + target }
        self.host = String(decoding: hostBytes, as: UTF8.self)
        self.port = port
        self.authority = String(decoding: authority, as: UTF8.self)
        self.target = target
    }
}
