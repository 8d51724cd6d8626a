import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The address this member tells the others, as Alloy chooses it: `--cluster.advertise-address`
/// when given; else, when `--cluster.advertise-interfaces` is given or the server listens on every
/// address (`0.0.0.0`, `[::]`), the best address of those interfaces (Alloy's default `eth0,en0`;
/// `all`: every interface) with the listen port; else the listen address itself.
enum AdvertiseAddress {
    /// Alloy's default interfaces.
    static let defaultInterfaces = ["eth0", "en0"]

    static func choose(options: AgentOptions, logger: Logger) -> String {
        if let address = options.cluster.advertiseAddress { return address }
        let listen = options.listenAddress
        let (host, port) = split(listen)
        let wildcard = host == "0.0.0.0" || host == "::" || host.isEmpty
        guard wildcard || options.cluster.advertiseInterfaces != nil else { return listen }
        let interfaces = options.cluster.advertiseInterfaces ?? defaultInterfaces
        guard let address = best(of: addresses(interfaces)) else {
            logger.warning(
                "No usable address on the advertise interfaces; advertising 127.0.0.1",
                metadata: ["cluster.advertise_interfaces": "\(interfaces.joined(separator: ","))"])
            return "127.0.0.1:\(port)"
        }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// Host and port of `host:port` or `[v6]:port`.
    static func split(_ address: String) -> (host: String, port: String) {
        guard let colon = address.lastIndex(of: ":") else { return (address, "12345") }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, String(address[address.index(after: colon)...]))
    }

    /// One interface's addresses, as `getifaddrs` lists them.
    struct InterfaceAddress: Equatable {
        var interface: String
        var address: String
        var isIPv4: Bool
        var isLinkLocal: Bool
        var isLoopback: Bool
    }

    /// The addresses of `interfaces` (`["all"]`: every interface), in the order the interfaces
    /// are named.
    static func addresses(_ interfaces: [String]) -> [[InterfaceAddress]] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var found: [InterfaceAddress] = []
        var next = list
        while let entry = next {
            next = entry.pointee.ifa_next
            guard let socketAddress = entry.pointee.ifa_addr else { continue }
            let family = Int32(socketAddress.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(
                family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(socketAddress, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            var address = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if let zone = address.firstIndex(of: "%") { address = String(address[..<zone]) }
            let name = String(cString: entry.pointee.ifa_name)
            let isIPv4 = family == AF_INET
            found.append(
                InterfaceAddress(
                    interface: name, address: address, isIPv4: isIPv4,
                    isLinkLocal: isIPv4 ? address.hasPrefix("169.254.") : address.lowercased().hasPrefix("fe80:"),
                    isLoopback: isIPv4 ? address.hasPrefix("127.") : address == "::1"))
        }
        let names =
            interfaces == ["all"]
            ? found.map(\.interface).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } : interfaces
        return names.map { name in found.filter { $0.interface == name } }
    }

    /// ckit's choice: interface by interface, the first IPv4 address that is not link-local wins at
    /// once; otherwise the best seen: IPv4, then IPv6, not link-local before link-local. Loopback
    /// addresses never.
    static func best(of interfaces: [[InterfaceAddress]]) -> String? {
        func rank(_ address: InterfaceAddress) -> Int {
            (address.isLinkLocal ? 2 : 0) + (address.isIPv4 ? 0 : 1)
        }
        var best: InterfaceAddress?
        for addresses in interfaces {
            for address in addresses where !address.isLoopback {
                if address.isIPv4 && !address.isLinkLocal { return address.address }
                if best.map({ rank(address) < rank($0) }) ?? true { best = address }
            }
        }
        return best?.address
    }
}
