import Logging
import Testing

@testable import Agent

@Suite struct AdvertiseAddressTests {
    typealias Address = AdvertiseAddress.InterfaceAddress

    static func v4(_ interface: String, _ address: String) -> Address {
        Address(
            interface: interface, address: address, isIPv4: true, isLinkLocal: address.hasPrefix("169.254."),
            isLoopback: address.hasPrefix("127."))
    }

    static func v6(_ interface: String, _ address: String) -> Address {
        Address(
            interface: interface, address: address, isIPv4: false, isLinkLocal: address.hasPrefix("fe80:"),
            isLoopback: address == "::1")
    }

    @Test func theFirstRoutableIPv4AddressWinsInInterfaceOrder() {
        let eth0 = [Self.v6("eth0", "fe80::1"), Self.v4("eth0", "169.254.0.9")]
        let eth1 = [Self.v6("eth1", "fd00::5"), Self.v4("eth1", "10.0.0.5")]
        #expect(AdvertiseAddress.best(of: [eth0, eth1]) == "10.0.0.5")
    }

    @Test func withoutARoutableIPv4AddressIPv6ComesBeforeLinkLocal() {
        let eth0 = [Self.v4("eth0", "169.254.0.9"), Self.v6("eth0", "fd00::5"), Self.v6("eth0", "fe80::1")]
        #expect(AdvertiseAddress.best(of: [eth0]) == "fd00::5")
        #expect(AdvertiseAddress.best(of: [[Self.v4("lo", "127.0.0.1"), Self.v6("lo", "::1")]]) == nil)
    }

    @Test func aSpecificListenAddressIsAdvertisedAsItIs() {
        var options = AgentOptions(configPath: "c")
        options.listenAddress = "10.1.2.3:12345"
        #expect(AdvertiseAddress.choose(options: options, logger: Logger(label: "test")) == "10.1.2.3:12345")
        options.cluster.advertiseAddress = "agent-1.example.org:9000"
        #expect(AdvertiseAddress.choose(options: options, logger: Logger(label: "test")) == "agent-1.example.org:9000")
    }

    @Test func aWildcardListenAddressAdvertisesAnInterfaceAddressWithItsPort() {
        var options = AgentOptions(configPath: "c")
        options.listenAddress = "0.0.0.0:23456"
        options.cluster.advertiseInterfaces = ["no-such-interface"]
        // Nothing usable: 127.0.0.1, as Alloy falls back to.
        #expect(AdvertiseAddress.choose(options: options, logger: Logger(label: "test")) == "127.0.0.1:23456")
        options.cluster.advertiseInterfaces = ["all"]
        let chosen = AdvertiseAddress.choose(options: options, logger: Logger(label: "test"))
        #expect(chosen.hasSuffix(":23456"))
        let best = AdvertiseAddress.best(of: AdvertiseAddress.addresses(["all"]))
        #expect(chosen == best.map { $0.contains(":") ? "[\($0)]:23456" : "\($0):23456" } ?? "127.0.0.1:23456")
    }
}
