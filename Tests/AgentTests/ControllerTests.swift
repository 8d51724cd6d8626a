import AsyncHTTPClient
import Config
import Events
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@testable import Agent

/// The agent's routes in process: the production wiring (`AgentParts`, as `buildApplication`
/// assembles it) behind Hummingbird's test client, without starting the services.
@Suite struct ControllerTests {
    /// A configuration scraping one address nobody listens on, without remote write.
    static let config = """
        prometheus.scrape "solo" {
        \ttargets         = [{"__address__" = "127.0.0.1:9"}]
        \tforward_to      = []
        \tscrape_interval = "15s"
        }

        """

    /// Runs `body` against the routes of an agent whose files live in a fresh folder.
    static func withAgent(
        _ body: @Sendable (AgentState, String, any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = TemporaryDirectory()
        let configPath = dir.sub("config.alloy")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var options = AgentOptions(configPath: configPath)
        options.storagePath = dir.sub("data")
        options.cluster.nodeName = "agentd-test"
        let parts = try AgentParts(options: options, logger: Logger(label: "test"))
        let state = parts.state
        do {
            try await Application(router: parts.router).test(.router) { client in
                try await body(state, configPath, client)
            }
        } catch {
            try? parts.log.close()
            try? await parts.client.shutdown()
            throw error
        }
        try parts.log.close()
        try await parts.client.shutdown()
    }

    @Test func readyOnlyOnceTheApplicationSaysSo() async throws {
        try await Self.withAgent { state, _, client in
            try await client.execute(uri: "/-/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
            state.setReady(true)
            try await client.execute(uri: "/-/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "agentd is ready.\n")
            }
        }
    }

    @Test func metricsAreOneExpositionWithTheBuildInfoAndTheWAL() async throws {
        try await Self.withAgent { _, _, client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let lines = String(buffer: response.body).split(separator: "\n").map(String.init)
                #expect(lines.contains { $0.hasPrefix("agentd_build_info{") && $0.contains(#"node="agentd-test""#) })
                #expect(lines.contains("# TYPE agentd_wal_segments gauge"))
                #expect(lines.contains("agentd_wal_appends_failing 0.0"))
                // No cluster: no cluster families.
                #expect(!lines.contains { $0.hasPrefix("cluster_") })
            }
        }
    }

    @Test func theWebAssetsAreTheFilesInTheSourceTree() async throws {
        let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Agent/WebAssets").standardized
        let cases = [
            ("/ui/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/ui/app.css", "app.css", "text/css; charset=utf-8"),
            ("/", "index.html", "text/html; charset=utf-8"),
        ]
        try await Self.withAgent { _, _, client in
            for (uri, file, type) in cases {
                let expected = try Data(contentsOf: assets.appendingPathComponent(file))
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == type)
                    #expect(Array(buffer: response.body) == [UInt8](expected), "\(uri) differs from \(file)")
                }
            }
        }
    }

    @Test func aBrokenReloadIsRefusedWithWhereAndTheRunningConfigurationStays() async throws {
        try await Self.withAgent { state, configPath, client in
            try "prometheus.scrape \"x\" {\n  targets = [\n".write(
                toFile: configPath, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/-/reload", method: .post) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("config.alloy:"))
            }
            #expect(state.config.scrapes.map(\.id.description) == ["prometheus.scrape.solo"])
        }
    }

    @Test func withoutClusteringThePeersAreThisAgentAlone() async throws {
        try await Self.withAgent { _, _, client in
            try await client.execute(uri: "/api/v0/web/peers", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.contains(#""name":"agentd-test""#) && body.contains(#""isSelf":true"#), "\(body)")
            }
        }
    }
}
