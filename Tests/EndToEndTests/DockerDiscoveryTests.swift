import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `discovery.docker` against a real Docker Engine API (Podman's service, ``PodmanEngine``)
    /// running real containers, with the seed's upstream configuration.
    @Suite(.serialized) struct DockerDiscoveryTests {
        /// The seed's `upstream-config.alloy`, as it is.
        static let upstream =
            String(#filePath.dropLast("EndToEndTests/DockerDiscoveryTests.swift".count))
            + "ConfigTests/Fixtures/upstream-config.alloy"

        /// The seed's configuration with its Docker host, its intervals (1 s, so the test is
        /// quick, with a scrape timeout under it) and its remote-write URL replaced: nothing
        /// else changes.
        static func config(host: String, writeURL: String) throws -> String {
            let seed = try String(contentsOfFile: upstream, encoding: .utf8)
            let replacements = [
                ("host             = \"unix:///var/run/docker.sock\"", "host             = \"\(host)\""),
                ("refresh_interval = \"10s\"", "refresh_interval = \"1s\""),
                ("scrape_interval = \"15s\"", "scrape_interval = \"1s\"\n\tscrape_timeout  = \"500ms\""),
                ("url = \"http://prometheus:9090/api/v1/write\"", "url = \"\(writeURL)\""),
            ]
            var config = seed
            for (old, new) in replacements {
                guard config.contains(old) else { throw TestSupportError("the seed no longer has \(old)") }
                config = config.replacingOccurrences(of: old, with: new)
            }
            return config
        }

        /// A component of the Graph page's API.
        struct ComponentJSON: Decodable {
            struct Health: Decodable {
                var state: String
                var message: String
            }
            var localID: String
            var health: Health
            var dataFlowEdgesTo: [String]
        }

        struct DiscoveryJSON: Decodable {
            var component: String
            var healthy: Bool
            var error: String?
            var targets: Int
        }

        @Test(.timeLimit(.minutes(4)))
        func labelledContainersAreScrapedAndFollowedAsTheyGoAndTheEngineFailing() async throws {
            let directory = TemporaryDirectory()
            let engine = try await PodmanEngine(directory: directory.sub("podman"))
            defer { engine.remove() }
            var served: [String] = []
            for index in 1...3 {
                let www = directory.sub("www-\(index)")
                try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
                try "# TYPE demo_value gauge\ndemo_value \(index)\n".write(
                    toFile: www + "/metrics", atomically: true, encoding: .utf8)
                served.append(www)
            }
            let target = ["clustering_target": "true", "com.example/team": "metrics"]
            // One exposing its port (published too), one exposing none (scraped at port 80, the
            // default `port`), one the relabelling drops (no clustering_target label).
            try await engine.run(
                name: "agentd-docker-1", labels: target, www: served[0], port: 8080, exposed: true, published: 18080)
            try await engine.run(name: "agentd-docker-2", labels: target, www: served[1], port: 80, exposed: false)
            try await engine.run(
                name: "agentd-docker-3", labels: ["clustering_target": "false"], www: served[2], port: 8080,
                exposed: true)

            let receiver = try await PrometheusReceiver(directory: directory.sub("prometheus"))
            defer { receiver.process.stop() }
            let config = directory.sub("config.alloy")
            try Self.config(host: engine.host, writeURL: receiver.writeURL)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "docker-sd", port: freePort(), config: config, storage: directory.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            func targets() async -> [String: TargetJSON] {
                let all = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                return Dictionary(all.map { ($0.labels["instance"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            }
            func sees(_ expected: Set<String>) async -> Bool {
                await waitUntil(within: .seconds(20)) { Set(await targets().keys) == expected }
            }
            func status() async -> DiscoveryJSON? {
                await agent.json("/api/v0/discovery", as: [DiscoveryJSON].self)?.first {
                    $0.component == "discovery.docker.containers"
                }
            }
            func logs() -> String { "agentd:\n\(agent.process.log)\npodman:\n\(engine.log)" }
            func component() async -> ComponentJSON? {
                await agent.json("/api/v0/web/components", as: [ComponentJSON].self)?.first {
                    $0.localID == "discovery.docker.containers"
                }
            }

            let both = await sees(["agentd-docker-1", "agentd-docker-2"])
            let seen = await targets().keys
            #expect(both, "\(seen) \(logs())")
            #expect(await status()?.targets == 3)
            // On the Graph page: healthy, its targets flowing to the relabelling.
            let shown = await component()
            #expect(shown?.health.state == "healthy", "\(String(describing: shown))")
            #expect(shown?.dataFlowEdgesTo == ["discovery.relabel.targets"])
            let found = await targets()
            let first = try #require(found["agentd-docker-1"]?.discoveredLabels)
            let ip = try #require(first["__meta_docker_network_ip"])
            #expect(ip.hasPrefix(engine.subnet + "."), "\(first)")
            #expect(first["__address__"] == "\(ip):8080")
            #expect(first["__meta_docker_container_name"] == "/agentd-docker-1")
            #expect(first["__meta_docker_container_id"]?.count == 64)
            #expect(first["__meta_docker_container_label_clustering_target"] == "true")
            #expect(first["__meta_docker_container_label_com_example_team"] == "metrics")
            #expect(first["__meta_docker_port_private"] == "8080")
            #expect(first["__meta_docker_port_public"] == "18080")
            #expect(first["__meta_docker_port_public_ip"] == "127.0.0.1")
            #expect(found["agentd-docker-1"]?.labels["job"] == "clustered-targets")
            let second = try #require(found["agentd-docker-2"]?.discoveredLabels)
            #expect(second["__address__"] == "\(second["__meta_docker_network_ip"] ?? "?"):80")
            #expect(second["__meta_docker_port_private"] == nil)

            // Scraped: their samples reach Prometheus with the seed's labels.
            func values() async -> [String: String] {
                let series = await receiver.rawSamples("demo_value{job=\"clustered-targets\"}[1m]")
                return Dictionary(
                    series.map { ($0.0["instance"] ?? "", $0.1.last?.1 ?? "") }, uniquingKeysWith: { a, _ in a })
            }
            let delivered = await waitUntil(within: .seconds(30)) {
                await values() == ["agentd-docker-1": "1", "agentd-docker-2": "2"]
            }
            let got = await values()
            #expect(delivered, "\(got) \(logs())")

            // A container removed is no longer a target.
            try await engine.remove(container: "agentd-docker-2")
            #expect(await sees(["agentd-docker-1"]), "\(logs())")
            #expect(await status()?.targets == 2)

            // The engine goes away: the last targets stay, the failure names the socket.
            await engine.stopService()
            var failing: DiscoveryJSON?
            let failed = await waitUntil(within: .seconds(20)) {
                failing = await status()
                return failing?.healthy == false
            }
            #expect(failed)
            #expect(failing?.error?.contains(engine.socket) == true, "\(String(describing: failing))")
            #expect(Set(await targets().keys) == ["agentd-docker-1"])
            let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
            #expect(metric(metrics, "agentd_discovery_healthy{component_id=\"discovery.docker.containers\"}") == 0)
            let unhealthy = await component()
            #expect(unhealthy?.health.state == "unhealthy")
            #expect(unhealthy?.health.message.contains(engine.socket) == true, "\(String(describing: unhealthy))")

            // Back: healthy again, with what the engine lists.
            try await engine.startService()
            let recovered = await waitUntil(within: .seconds(20)) { await status()?.healthy == true }
            #expect(recovered, "\(logs())")
            #expect(await status()?.targets == 2)
            #expect(Set(await targets().keys) == ["agentd-docker-1"])
        }

        @Test(.timeLimit(.minutes(2)))
        func withoutASocketTheFailureNamesIt() async throws {
            let directory = TemporaryDirectory()
            let socket = directory.sub("docker.sock")
            let config = directory.sub("config.alloy")
            try Self.config(host: "unix://\(socket)", writeURL: "http://127.0.0.1:\(freePort())/api/v1/write")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "docker-sd-missing", port: freePort(), config: config, storage: directory.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            var status: DiscoveryJSON?
            let failing = await waitUntil(within: .seconds(15)) {
                status = await agent.json("/api/v0/discovery", as: [DiscoveryJSON].self)?.first {
                    $0.component == "discovery.docker.containers"
                }
                return status?.healthy == false
            }
            #expect(failing)
            #expect(
                status?.error
                    == "unix://\(socket): no socket at \(socket); is the Docker daemon (or podman system service) running?"
            )
            #expect(agent.process.log.contains(socket))
        }
    }
}
