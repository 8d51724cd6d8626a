import DNSLookup
import Testing

@testable import Scrape

/// Canned answers; a name in `failing` fails.
private struct Answers: DNSResolving {
    let records: [String: [DNSRecord]]
    let failing: Set<String>

    func records(_ name: String, type: DNSRecordType) async throws(DNSError) -> [DNSRecord] {
        if failing.contains(name) {
            throw DNSError(name: name, type: type.rawValue, servers: ["10.0.0.53"], reason: "server failure or timeout")
        }
        return records[name] ?? []
    }

    func addresses(_ host: String) async throws(DNSError) -> [String] { [] }
}

@Suite struct DNSDiscoveryTests {
    @Test func srvRecordsGiveTargetAndPortWithPrometheusLabels() {
        let discovery = DNSDiscovery(names: ["_m._tcp.example.org"])
        let targets = discovery.targets(
            name: "_m._tcp.example.org",
            records: [.srv(priority: 1, weight: 1, port: 9100, target: "web-1.example.org."), .cname("x.")])
        #expect(
            targets == [
                [
                    "__address__": "web-1.example.org:9100", "__meta_dns_name": "_m._tcp.example.org",
                    "__meta_dns_srv_record_target": "web-1.example.org.", "__meta_dns_srv_record_port": "9100",
                ]
            ])
    }

    @Test func addressAndMXRecordsTakeTheConfiguredPort() {
        let discovery = DNSDiscovery(names: ["example.org"], type: .a, port: 9100)
        #expect(
            discovery.targets(name: "example.org", records: [.a("10.0.0.1"), .aaaa("fd00::1")]).map {
                $0["__address__"]
            }
                == ["10.0.0.1:9100", "[fd00::1]:9100"])
        let mx = DNSDiscovery(names: ["example.org"], type: .mx, port: 25).targets(
            name: "example.org", records: [.mx(preference: 10, exchange: "mail.example.org.")])
        #expect(mx.first?["__address__"] == "mail.example.org:25")
        #expect(mx.first?["__meta_dns_mx_record_target"] == "mail.example.org.")
    }

    @Test func aFailedNameKeepsItsLastTargetsAndIsReported() async {
        let discovery = DNSDiscovery(names: ["a.example.org", "b.example.org"], type: .a, port: 80)
        let good = Answers(
            records: ["a.example.org": [.a("10.0.0.1")], "b.example.org": [.a("10.0.0.2")]], failing: [])
        let (first, none) = await discovery.lookUp(with: good)
        #expect(none.isEmpty && first.count == 2)
        let bad = Answers(records: ["a.example.org": [.a("10.0.0.9")]], failing: ["b.example.org"])
        let (second, errors) = await discovery.lookUp(with: bad)
        #expect(second.keys.sorted() == ["a.example.org"])
        #expect(
            errors.map(\.description) == [
                "A lookup of b.example.org failed (servers 10.0.0.53): server failure or timeout"
            ])
    }
}

@Suite struct HTTPDiscoveryBodyTests {
    @Test func groupsBecomeTargetsWithTheURL() throws {
        let discovery = HTTPDiscovery(url: "http://sd/targets")
        let targets = try discovery.targets(body: #"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#)
        #expect(
            targets == [
                ["__address__": "a:1", "env": "prod", "__meta_url": "http://sd/targets"],
                ["__address__": "b:2", "env": "prod", "__meta_url": "http://sd/targets"],
            ])
    }

    @Test func aBadBodyNamesTheURLAndThePlace() {
        #expect(throws: HTTPDiscoveryError.self) {
            try HTTPDiscovery(url: "http://sd/").targets(body: "[{\"targets\": [1]}]")
        }
    }

    @Test(arguments: [
        ("application/json", true), ("application/json; charset=utf-8", true), ("Application/JSON", true),
        ("text/plain", false), ("application/json; charset=latin1", false),
    ])
    func acceptsJSONOnly(contentType: String, accepted: Bool) {
        #expect(HTTPDiscovery.isJSON(contentType) == accepted)
    }
}
