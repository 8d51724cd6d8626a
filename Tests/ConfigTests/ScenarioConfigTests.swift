import Foundation
import Scrape
import Testing

@testable import Config

@Suite("scenario configurations")
struct ScenarioConfigTests {
    private static let fixtures = String(#filePath.dropLast("ScenarioConfigTests.swift".count)) + "Fixtures/"
    private let context = EvaluationContext(hostname: "host-a", nodeName: "agentd-1", environment: [:])

    @Test func theLocalScenarioEvaluatesUnchanged() throws {
        let config = try AgentConfig.load(path: Self.fixtures + "config.alloy", context: context)
        #expect(
            config.evaluationOrder.map(\.description) == [
                "discovery.relabel.targets", "prometheus.remote_write.default", "prometheus.scrape.clustered",
            ])

        let scrape = try #require(config.scrape("clustered"))
        #expect(scrape.jobName == "prometheus.scrape.clustered")
        #expect(scrape.scrapeInterval == .seconds(15))
        #expect(scrape.scrapeTimeout == .seconds(10))
        #expect(scrape.clusteringEnabled)
        #expect(scrape.forwardTo == [ComponentID(name: "prometheus.remote_write", label: "default")])
        guard case .static(let targets) = scrape.targets else {
            Issue.record("expected static targets, got \(scrape.targets)")
            return
        }
        #expect(targets.count == 8)
        #expect(
            targets.first == [
                "__address__": "127.0.0.1:9101", "__meta_exporter": "node-exporter-1", "instance": "node-exporter-1",
                "job": "clustered-targets",
            ])
        #expect(targets.map { $0["instance"] } == (1...8).map { "node-exporter-\($0)" })

        let remoteWrite = try #require(config.remoteWrites.first)
        #expect(remoteWrite.externalLabels == ["scraped_by": "host-a"])
        #expect(remoteWrite.endpoints.map(\.url) == ["http://127.0.0.1:9090/api/v1/write"])
        #expect(remoteWrite.endpoints.first?.queue.maxSamplesPerSend == 2000)
    }

    @Test func theUpstreamScenarioEvaluatesUnchanged() throws {
        let config = try AgentConfig.load(path: Self.fixtures + "upstream-config.alloy", context: context)
        #expect(
            config.evaluationOrder.map(\.description) == [
                "discovery.docker.containers", "discovery.relabel.targets", "prometheus.remote_write.default",
                "prometheus.scrape.clustered",
            ])
        let docker = try #require(config.dockerDiscoveries.first)
        #expect(docker.host == .unix(path: "/var/run/docker.sock"))
        #expect(docker.refreshInterval == .seconds(10))
        #expect(docker.port == 80 && docker.hostNetworkingHost == "localhost" && docker.matchFirstNetwork)
        #expect(docker.filters.isEmpty)

        let scrape = try #require(config.scrape("clustered"))
        guard case .relabel(_, let rules, let input) = scrape.targets else {
            Issue.record("expected relabelled dynamic targets, got \(scrape.targets)")
            return
        }
        #expect(input == .discovered(docker.id))
        #expect(rules.map(\.action) == [.keep, .replace, .replace])
        #expect(scrape.clusteringEnabled)
        #expect(config.remoteWrites.first?.externalLabels == ["scraped_by": "host-a"])
        #expect(config.remoteWrites.first?.endpoints.map(\.url) == ["http://prometheus:9090/api/v1/write"])
    }

    @Test func theUpstreamScenarioRunsWithOnlyItsDiscoverySwapped() throws {
        let upstream = try String(contentsOfFile: Self.fixtures + "upstream-config.alloy", encoding: .utf8)
        let swapped = upstream.replacingOccurrences(
            of: """
                discovery.docker "containers" {
                	host             = "unix:///var/run/docker.sock"
                	refresh_interval = "10s"
                }
                """,
            with: """
                discovery.file "containers" {
                	files            = ["/etc/agentd/targets/*.json"]
                	refresh_interval = "10s"
                }
                """
        ).replacingOccurrences(of: "discovery.docker.containers.targets", with: "discovery.file.containers.targets")
        let config = try AgentConfig.parse(source: swapped, filename: "swapped.alloy", context: context)

        let file = ComponentID(name: "discovery.file", label: "containers")
        let relabelID = ComponentID(name: "discovery.relabel", label: "targets")
        #expect(config.files.first?.refreshInterval == .seconds(10))
        let scrape = try #require(config.scrape("clustered"))
        guard case .relabel(let id, let rules, let input) = scrape.targets else {
            Issue.record("expected relabelled dynamic targets, got \(scrape.targets)")
            return
        }
        #expect(id == relabelID)
        #expect(input == .file(file))
        #expect(rules.map(\.action) == [.keep, .replace, .replace])

        // The runtime resolves the chain with what the file discovery found.
        let discovered: [[String: String]] = [
            [
                "__address__": "10.0.0.1:9100", "__meta_docker_container_name": "/target-1",
                "__meta_docker_container_label_clustering_target": "true",
            ],
            ["__address__": "10.0.0.2:9100", "__meta_docker_container_name": "/prometheus"],
        ]
        let resolved = scrape.targets.resolve { $0 == file ? discovered : [] }
        #expect(resolved.map { $0["instance"] } == ["target-1"])
        #expect(resolved.first?["job"] == "clustered-targets")
    }
}
