import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `discovery.http` against a real HTTP server the test starts, and `target_limit`.
    @Suite(.serialized) struct HTTPDiscoveryTests {
        /// Serves, on every GET, the file `body.json` of its directory as JSON, with the status
        /// in the file `status`: what the test writes is what the next refresh sees.
        static let server = """
            import http.server, os, sys
            directory, port = sys.argv[1], int(sys.argv[2])
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    status = int(open(os.path.join(directory, "status")).read().strip())
                    body = open(os.path.join(directory, "body.json"), "rb").read()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", port), Handler)
            print("serving", flush=True)
            server.serve_forever()
            """

        struct DiscoveryJSON: Decodable {
            var component: String
            var healthy: Bool
            var error: String?
            var targets: Int
        }

        static func serve(_ directory: String, status: Int, groups: [(targets: [String], labels: [String: String])])
            throws
        {
            let json = groups.map { group in
                let targets = group.targets.map { "\"\($0)\"" }.joined(separator: ",")
                let labels = group.labels.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
                return "{\"targets\":[\(targets)],\"labels\":{\(labels)}}"
            }.joined(separator: ",")
            try "[\(json)]".write(toFile: directory + "/body.json", atomically: true, encoding: .utf8)
            try "\(status)\n".write(toFile: directory + "/status", atomically: true, encoding: .utf8)
        }

        @Test(.timeLimit(.minutes(3)))
        func targetsComeChangeAndGoWithTheServerAndAFailureKeepsTheLastSet() async throws {
            let directory = TemporaryDirectory()
            let served = directory.sub("served")
            try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
            try Self.serve(served, status: 200, groups: [(["127.0.0.1:9001", "127.0.0.1:9002"], ["team": "a"])])
            try Self.server.write(toFile: directory.sub("server.py"), atomically: true, encoding: .utf8)
            let port = freePort()
            let server = try ChildProcess(
                "/usr/bin/env", ["python3", directory.sub("server.py"), served, "\(port)"], name: "http-sd")
            // Python keeps the SIGTERM the test process blocks: stopped with SIGKILL.
            defer { server.stop(grace: .milliseconds(100)) }
            #expect(await waitUntil(within: .seconds(10)) { await httpGet("http://127.0.0.1:\(port)/")?.status == 200 })

            let config = directory.sub("config.alloy")
            try """
            discovery.http "fleet" {
            \turl              = "http://127.0.0.1:\(port)/targets"
            \trefresh_interval = "1s"
            }

            prometheus.scrape "fleet" {
            \ttargets         = discovery.http.fleet.targets
            \tforward_to      = []
            \tscrape_interval = "1s"
            \tscrape_timeout  = "500ms"
            }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "http-sd", port: freePort(), config: config, storage: directory.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            func targets() async -> [String: TargetJSON] {
                let all = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                return Dictionary(all.map { ($0.labels["instance"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            }
            func sees(_ expected: Set<String>) async -> Bool {
                await waitUntil(within: .seconds(15)) { Set(await targets().keys) == expected }
            }
            #expect(await sees(["127.0.0.1:9001", "127.0.0.1:9002"]))
            let first = await targets()["127.0.0.1:9001"]
            #expect(first?.labels["team"] == "a")
            #expect(first?.discoveredLabels["__meta_url"] == "http://127.0.0.1:\(port)/targets")

            try Self.serve(served, status: 200, groups: [(["127.0.0.1:9002", "127.0.0.1:9003"], ["team": "b"])])
            #expect(await sees(["127.0.0.1:9002", "127.0.0.1:9003"]))
            #expect(await targets()["127.0.0.1:9002"]?.labels["team"] == "b")

            // A 500: the last set stays, and the failure shows with the URL and the status.
            try Self.serve(served, status: 500, groups: [])
            var status: DiscoveryJSON?
            let failing = await waitUntil(within: .seconds(15)) {
                status = await agent.json("/api/v0/discovery", as: [DiscoveryJSON].self)?.first {
                    $0.component == "discovery.http.fleet"
                }
                return status?.healthy == false
            }
            #expect(failing)
            #expect(
                status?.error?.contains("http://127.0.0.1:\(port)/targets") == true, "\(String(describing: status))")
            #expect(status?.error?.contains("500") == true)
            #expect(Set(await targets().keys) == ["127.0.0.1:9002", "127.0.0.1:9003"])
            let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
            #expect(metric(metrics, "agentd_discovery_healthy{component_id=\"discovery.http.fleet\"}") == 0)

            // Back, with nothing: every target goes.
            try Self.serve(served, status: 200, groups: [])
            #expect(await sees([]))
            #expect(
                await waitUntil(within: .seconds(10)) {
                    await agent.json("/api/v0/discovery", as: [DiscoveryJSON].self)?.first?.healthy == true
                })
        }

        @Test(.timeLimit(.minutes(2)))
        func aJobOverItsTargetLimitFailsEveryTargetWithTheReason() async throws {
            let directory = TemporaryDirectory()
            let config = directory.sub("config.alloy")
            try """
            prometheus.scrape "limited" {
            \ttargets         = [{"__address__" = "127.0.0.1:1"}, {"__address__" = "127.0.0.1:2"}, {"__address__" = "127.0.0.1:3"}]
            \tforward_to      = []
            \tscrape_interval = "1s"
            \tscrape_timeout  = "500ms"
            \ttarget_limit    = 2
            }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "limited", port: freePort(), config: config, storage: directory.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            let reason = "target_limit exceeded (number of targets: 3, limit: 2)"
            let failed = await waitUntil(within: .seconds(15)) {
                let targets = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                return targets.count == 3 && targets.allSatisfy { $0.lastError == reason }
            }
            #expect(failed)
            let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
            #expect((metric(metrics, "prometheus_target_scrape_pool_exceeded_target_limit_total") ?? 0) >= 1)
        }
    }
}
