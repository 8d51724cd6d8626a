import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// A fleet that finds itself and its targets through DNS, as in Kubernetes (a headless
    /// service) or Docker Compose: a real name server (dnsmasq) in a network namespace the test
    /// creates, three agents inside that join by one name, and node exporters inside that
    /// `discovery.dns` finds.
    @Suite(.serialized, .enabled(if: getuid() == 0, "needs root for ip netns"))
    struct DNSDiscoveryTests {
        static let domain = "cluster.test"
        static let members = ["agent-0", "agent-1", "agent-2"]

        static let config = """
            discovery.dns "exporters" {
            \tnames            = ["exporters.cluster.test"]
            \ttype             = "A"
            \tport             = 9100
            \trefresh_interval = "1s"
            }

            discovery.dns "srv" {
            \tnames            = ["_metrics._tcp.cluster.test"]
            \trefresh_interval = "1s"
            }

            prometheus.scrape "nodes" {
            \ttargets         = discovery.dns.exporters.targets
            \tforward_to      = []
            \tscrape_interval = "1s"
            \tscrape_timeout  = "800ms"
            \tclustering {
            \t\tenabled = true
            \t}
            }

            prometheus.scrape "srv" {
            \ttargets         = discovery.dns.srv.targets
            \tforward_to      = []
            \tscrape_interval = "1s"
            \tscrape_timeout  = "800ms"
            }
            """

        struct DiscoveryJSON: Decodable {
            var component: String
            var healthy: Bool
            var error: String?
            var targets: Int
        }

        /// An agent inside the namespace, reached from outside over the veth pair.
        struct Member {
            var name: String
            var url: String
            var process: ChildProcess

            func json<T: Decodable>(_ path: String, as type: T.Type = T.self) async -> T? {
                guard let (status, body) = await httpGet(url + path), status == 200 else { return nil }
                return try? JSONDecoder().decode(T.self, from: Data(body.utf8))
            }

            var participants: Set<String> {
                get async {
                    Set(
                        (await json("/api/v0/web/peers", as: [PeerJSON].self) ?? []).filter {
                            $0.state == "participant"
                        }.map(\.name))
                }
            }

            /// The addresses of `job`'s targets.
            func targets(_ job: String) async -> [String: TargetJSON] {
                let all = await json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                return Dictionary(
                    all.filter { $0.labels["job"] == job }.map { ($0.labels["instance"] ?? "", $0) },
                    uniquingKeysWith: { first, _ in first })
            }

            func discovery(_ component: String) async -> DiscoveryJSON? {
                await json("/api/v0/discovery", as: [DiscoveryJSON].self)?.first { $0.component == component }
            }
        }

        @Test(.timeLimit(.minutes(4)))
        func threeAgentsJoinByOneNameAndScrapeWhatDNSNames() async throws {
            let directory = TemporaryDirectory()
            let namespace = try NetworkNamespace(addresses: 3, domain: Self.domain, directory: directory.path)
            defer { namespace.remove() }
            let addresses = (0..<3).map(namespace.address)
            // Agents by name (A records of one name, and SRV records), exporters by the hosts file.
            var hostRecords = addresses.map { "agents.\(Self.domain),\($0)" }
            hostRecords += Self.members.enumerated().map { "\($1).\(Self.domain),\(addresses[$0])" }
            hostRecords.append("exporter-b.\(Self.domain),127.0.0.3")
            let srvHosts =
                Self.members.map { "_agentd._tcp.\(Self.domain),\($0).\(Self.domain),12345" } + [
                    "_metrics._tcp.\(Self.domain),exporter-b.\(Self.domain),9100"
                ]
            try namespace.writeHosts("exporters", ["127.0.0.2 exporters.\(Self.domain)"])
            try await namespace.startNameServer(hostRecords: hostRecords, srvHosts: srvHosts)

            for host in ["127.0.0.2", "127.0.0.3"] {
                _ = try namespace.start(
                    "/usr/bin/prometheus-node-exporter",
                    ["--web.listen-address=\(host):9100", "--collector.disable-defaults", "--collector.time"],
                    name: "exporter-\(host)")
            }

            let config = directory.sub("config.alloy")
            try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
            // One name three ways: A records (no prefix), SRV records, and dns+ with a port.
            let joins = [
                "agents.\(Self.domain)", "dnssrv+_agentd._tcp.\(Self.domain)", "dns+agents.\(Self.domain):12345",
            ]
            var members: [Member] = []
            for (index, name) in Self.members.enumerated() {
                let process = try namespace.start(
                    AgentProcess.binary,
                    [
                        "run", config, "--server.http.listen-addr=\(addresses[index]):12345",
                        "--storage.path=\(directory.sub(name))", "--cluster.node-name=\(name)",
                        "--cluster.enabled=true", "--cluster.join-addresses=\(joins[index])",
                        "--cluster.rejoin-interval=5s",
                        // The last joins one of the two others only; gossip tells it of the third.
                        "--cluster.max-join-peers=\(index == 2 ? 1 : 5)",
                    ]
                        // The first advertises its name, as in Docker Compose: the join name's
                        // address of it is still its own, and it does not join itself.
                        + (index == 0 ? ["--cluster.advertise-address=\(name).\(Self.domain):12345"] : []),
                    name: name)
                members.append(Member(name: name, url: "http://\(addresses[index]):12345", process: process))
            }
            func logs() -> String {
                members.map { "\($0.name):\n\($0.process.log)" }.joined(separator: "\n")
                    + "\ndnsmasq:\n\(namespace.nameServerLog)"
            }

            let formed = await waitUntil(within: .seconds(60)) {
                for member in members where await member.participants != Set(Self.members) { return false }
                return true
            }
            try #require(formed, "\(logs())")
            let ownJoins = metric(
                await httpGet(members[0].url + "/metrics")?.body ?? "",
                "cluster_transport_rejected_messages_total{reason=\"self\"}")
            #expect(ownJoins ?? 0 == 0)

            // The A records: one exporter, then two, then the other one alone.
            func instances(_ job: String) async -> [Set<String>] {
                var seen: [Set<String>] = []
                for member in members { seen.append(Set(await member.targets(job).keys)) }
                return seen
            }
            func everyMemberSees(_ expected: Set<String>, job: String = "prometheus.scrape.nodes") async -> Bool {
                await waitUntil(within: .seconds(20)) { await instances(job).allSatisfy { $0 == expected } }
            }
            let one = await everyMemberSees(["127.0.0.2:9100"])
            let seen = await instances("prometheus.scrape.nodes")
            #expect(one, "\(seen)\n\(logs())")
            let first = await members[0].targets("prometheus.scrape.nodes")["127.0.0.2:9100"]
            #expect(first?.discoveredLabels["__meta_dns_name"] == "exporters.\(Self.domain)")
            try namespace.writeHosts(
                "exporters", ["127.0.0.2 exporters.\(Self.domain)", "127.0.0.3 exporters.\(Self.domain)"])
            #expect(await everyMemberSees(["127.0.0.2:9100", "127.0.0.3:9100"]))
            try namespace.writeHosts("exporters", ["127.0.0.3 exporters.\(Self.domain)"])
            #expect(await everyMemberSees(["127.0.0.3:9100"]))
            // The one target is scraped, by its one owner.
            let scraped = await waitUntil(within: .seconds(20)) {
                let owners = await members[0].targets("prometheus.scrape.nodes")["127.0.0.3:9100"]
                return owners?.owner != nil && owners?.lastScrape != nil && owners?.lastError == nil
            }
            #expect(scraped, "\(logs())")

            // The SRV record: its target and port, with Prometheus's labels.
            #expect(await everyMemberSees(["exporter-b.\(Self.domain):9100"], job: "prometheus.scrape.srv"))
            let srv = await members[1].targets("prometheus.scrape.srv")["exporter-b.\(Self.domain):9100"]
            #expect(srv?.discoveredLabels["__meta_dns_srv_record_target"] == "exporter-b.\(Self.domain).")
            #expect(srv?.discoveredLabels["__meta_dns_srv_record_port"] == "9100")
            #expect(srv?.discoveredLabels["__meta_dns_name"] == "_metrics._tcp.\(Self.domain)")
            let srvScraped = await waitUntil(within: .seconds(20)) {
                let target = await members[1].targets("prometheus.scrape.srv")["exporter-b.\(Self.domain):9100"]
                return target?.lastScrape != nil && target?.lastError == nil
            }
            #expect(srvScraped, "\(logs())")

            // The name server goes away: the last targets stay, the failure shows with the name
            // and the server.
            await namespace.stopNameServer()
            var status: DiscoveryJSON?
            let failing = await waitUntil(within: .seconds(20)) {
                status = await members[0].discovery("discovery.dns.exporters")
                return status?.healthy == false
            }
            #expect(failing)
            let error = status?.error ?? ""
            #expect(error.contains("exporters.\(Self.domain)") && error.contains("127.0.0.1"), "\(error)")
            #expect(status?.targets == 1)
            #expect(Set(await members[0].targets("prometheus.scrape.nodes").keys) == ["127.0.0.3:9100"])
            let metrics = await httpGet(members[0].url + "/metrics")?.body ?? ""
            #expect(metric(metrics, "agentd_discovery_healthy{component_id=\"discovery.dns.exporters\"}") == 0)
            #expect(
                (metric(metrics, "agentd_discovery_refresh_failures_total{component_id=\"discovery.dns.exporters\"}")
                    ?? 0) > 0)
        }
    }
}
