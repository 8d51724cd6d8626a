import Testing

@testable import DNSLookup

@Suite struct DNSMessageTests {
    /// A response built by hand: header, one question, then `answers` (each name compressed to
    /// the question's name at offset 12).
    static func response(question: String, answers: [(type: UInt16, data: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, UInt8(answers.count), 0, 0, 0, 0]
        bytes += encode(question) + [0, 33, 0, 1]
        for answer in answers {
            bytes += [0xC0, 12, UInt8(answer.type >> 8), UInt8(answer.type & 0xFF), 0, 1, 0, 0, 0, 60]
            bytes += [UInt8(answer.data.count >> 8), UInt8(answer.data.count & 0xFF)] + answer.data
        }
        return bytes
    }

    static func encode(_ name: String) -> [UInt8] {
        name.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    @Test func readsSRVAAndAAAARecordsFollowingCompression() throws {
        // The SRV target points back into the question's name: "web." + (offset of "example.org").
        let srv: [UInt8] = [0, 10, 0, 5, 0x1F, 0x90] + [3] + Array("web".utf8) + [0xC0, 12 + 1 + 8]
        let bytes = Self.response(
            question: "_metrics.example.org",
            answers: [
                (33, srv), (1, [10, 0, 0, 7]),
                (28, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ])
        let records = try DNSMessage.answers(bytes)
        #expect(
            records == [
                .srv(priority: 10, weight: 5, port: 8080, target: "web.example.org."), .a("10.0.0.7"),
                .aaaa("2001:db8::1"),
            ])
    }

    @Test func readsMXAndSkipsUnknownTypes() throws {
        let mx: [UInt8] = [0, 10] + Self.encode("mail.example.org")
        let records = try DNSMessage.answers(
            Self.response(question: "example.org", answers: [(15, mx), (16, [3, 0x61, 0x62, 0x63])]))
        #expect(records == [.mx(preference: 10, exchange: "mail.example.org."), .other(type: 16)])
    }

    @Test(arguments: [0, 5, 12, 20, 30])
    func aTruncatedMessageIsAnErrorNotACrash(length: Int) {
        let bytes = Self.response(question: "example.org", answers: [(1, [10, 0, 0, 1])])
        #expect(throws: DNSMessageError.self) { try DNSMessage.answers(Array(bytes.prefix(length))) }
    }

    /// Bytes from a server are outside input: every prefix of an answer and every one-byte
    /// change of it either reads or throws, never traps.
    @Test func everyPrefixAndEveryByteChangeReadsOrThrows() {
        let srv: [UInt8] = [0, 10, 0, 5, 0x1F, 0x90] + [3] + Array("web".utf8) + [0xC0, 12 + 1 + 8]
        let bytes = Self.response(
            question: "_metrics.example.org", answers: [(33, srv), (1, [10, 0, 0, 7]), (15, [0, 1, 0xC0, 12])])
        var outcomes = 0
        for length in 0...bytes.count {
            _ = try? DNSMessage.answers(Array(bytes.prefix(length)))
            outcomes += 1
        }
        for index in bytes.indices {
            for value: UInt8 in [0x00, 0x3F, 0x40, 0xC0, 0xFF, bytes[index] ^ 0x01] {
                var changed = bytes
                changed[index] = value
                _ = try? DNSMessage.answers(changed)
                outcomes += 1
            }
        }
        #expect(outcomes == bytes.count + 1 + bytes.count * 6)
    }

    @Test func aCompressionLoopIsAnError() {
        var bytes: [UInt8] = [0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        bytes += [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSMessageError.self) { try DNSMessage.answers(bytes) }
    }

    @Test func ipv6TextFollowsRFC5952() {
        #expect(IPv6Text.format(ArraySlice([UInt8](repeating: 0, count: 15) + [1])) == "::1")
        #expect(
            IPv6Text.format(ArraySlice([0xfe, 0x80] + [UInt8](repeating: 0, count: 12) + [0, 0x2a])) == "fe80::2a")
        #expect(
            IPv6Text.format(ArraySlice([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]))
                == "2001:db8:1:0:1::1")
    }
}

/// Canned answers, keyed by name.
struct StubResolver: DNSResolving {
    var srv: [String: [DNSRecord]] = [:]
    var hosts: [String: [String]] = [:]
    var failing: Set<String> = []

    func records(_ name: String, type: DNSRecordType) async throws(DNSError) -> [DNSRecord] {
        if failing.contains(name) { throw DNSError(name: name, type: type.rawValue, servers: ["stub"], reason: "down") }
        return type == .srv ? srv[name] ?? [] : []
    }

    func addresses(_ host: String) async throws(DNSError) -> [String] {
        if failing.contains(host) { throw DNSError(name: host, type: "A/AAAA", servers: ["stub"], reason: "down") }
        return hosts[host] ?? []
    }
}

@Suite struct JoinAddressTests {
    @Test(arguments: [
        ("10.0.0.1", JoinAddress.Lookup.automatic, "10.0.0.1", nil as Int?),
        ("10.0.0.1:9000", .automatic, "10.0.0.1", 9000),
        ("agents.svc:12345", .automatic, "agents.svc", 12345),
        ("[::1]:80", .automatic, "::1", 80),
        ("::1", .automatic, "::1", nil),
        ("dns+agents.svc:7000", .addresses, "agents.svc", 7000),
        ("dnssrv+_agentd._tcp.agents.svc", .srv, "_agentd._tcp.agents.svc", nil),
        ("dnssrvnoa+_agentd._tcp.agents.svc", .srvNoAddresses, "_agentd._tcp.agents.svc", nil),
    ])
    func parses(entry: String, lookup: JoinAddress.Lookup, host: String, port: Int?) throws {
        let address = try #require(JoinAddress(entry))
        #expect(address.lookup == lookup)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["", "dns+", "host:0", "host:70000", "host:http", "[::1]x"])
    func refusesMalformedEntries(entry: String) {
        #expect(JoinAddress(entry) == nil)
    }

    static let resolver = StubResolver(
        srv: [
            "_agentd._tcp.agents.svc": [
                .srv(priority: 0, weight: 0, port: 7001, target: "a.agents.svc."),
                .srv(priority: 0, weight: 0, port: 7002, target: "b.agents.svc."),
            ]
        ],
        hosts: [
            "agents.svc": ["10.0.0.1", "10.0.0.2", "fd00::3"], "a.agents.svc": ["10.0.0.1"],
            "b.agents.svc": ["10.0.0.2"],
        ],
        failing: ["broken.svc"])

    @Test(arguments: [
        ("agents.svc", ["10.0.0.1:12345", "10.0.0.2:12345", "[fd00::3]:12345"]),
        ("dns+agents.svc:9", ["10.0.0.1:9", "10.0.0.2:9", "[fd00::3]:9"]),
        ("dnssrv+_agentd._tcp.agents.svc", ["10.0.0.1:7001", "10.0.0.2:7002"]),
        ("dnssrvnoa+_agentd._tcp.agents.svc", ["a.agents.svc:7001", "b.agents.svc:7002"]),
        // No A records: the name is tried for SRV records.
        ("_agentd._tcp.agents.svc", ["10.0.0.1:7001", "10.0.0.2:7002"]),
        ("10.9.9.9", ["10.9.9.9:12345"]),
        ("missing.svc", []),
    ])
    func resolves(entry: String, expected: [String]) async throws {
        let address = try #require(JoinAddress(entry))
        let (found, errors) = await address.resolve(defaultPort: 12345, with: Self.resolver)
        #expect(found == expected)
        #expect(errors.isEmpty)
    }

    @Test func aFailedLookupIsReportedWithTheNameAndServer() async throws {
        let address = try #require(JoinAddress("dns+broken.svc"))
        let (found, errors) = await address.resolve(defaultPort: 1, with: Self.resolver)
        #expect(found.isEmpty)
        #expect(errors.map(\.description) == ["A/AAAA lookup of broken.svc failed (servers stub): down"])
    }
}
