import Config
import Foundation
import RemoteWrite
import Scrape
import Testing

@testable import Agent

@Suite struct FlowRatesTests {
    @Test func aRateNeedsAnEarlierReading() {
        var rates = FlowRates()
        #expect(rates.rates(["a": 100], window: 5, now: 1000).isEmpty)
        #expect(rates.rates(["a": 300], window: 5, now: 1002) == ["a": 100])
    }

    @Test func theRateIsMeasuredOverTheWindow() {
        var rates = FlowRates()
        for second in 0...20 { _ = rates.rates(["a": UInt64(second * 10)], window: 5, now: 1000 + Double(second)) }
        // Samples jump by 1040 in the last second: from 160 five seconds ago, (1240 - 160) / 5 per second.
        #expect(rates.rates(["a": 1240], window: 5, now: 1021) == ["a": 216])
        // From the reading at 1011 (110): (1240 - 110) / 10.5.
        #expect(rates.rates(["a": 1240], window: 10, now: 1021.5).map { $0.value.rounded() } == [108])
    }

    @Test func keysSeenForTheFirstTimeHaveNoRateAndCountersThatWentBackAreZero() {
        var rates = FlowRates()
        _ = rates.rates(["a": 50], window: 5, now: 1000)
        #expect(rates.rates(["a": 10, "b": 7], window: 5, now: 1001) == ["a": 0])
    }

    @Test func oldReadingsAreDropped() {
        var rates = FlowRates()
        _ = rates.rates(["a": 0], window: 5, now: 1000)
        _ = rates.rates(["a": 650], window: 5, now: 1065)
        // The reading at 1000 is past the horizon: the rate is over the last 5 s from 1065.
        #expect(rates.rates(["a": 1650], window: 60, now: 1075) == ["a": 100])
    }
}

@Suite struct ComponentsControllerTests {
    static let config = """
        discovery.relabel "nodes" {
        	targets = [{"__address__" = "127.0.0.1:9100"}, {"__address__" = "127.0.0.1:9101"}]
        	rule {
        		source_labels = ["__address__"]
        		regex         = ".*:9101"
        		action        = "drop"
        	}
        }

        prometheus.scrape "nodes" {
        	targets    = discovery.relabel.nodes.output
        	forward_to = [prometheus.remote_write.default.receiver]
        }

        prometheus.remote_write "default" {
        	endpoint {
        		name = "main"
        		url  = "http://127.0.0.1:9090/api/v1/write"
        		basic_auth {
        			username = "agent"
        			password = "hunter2"
        		}
        	}
        }

        """

    static func controller(sent: UInt64) throws -> (ComponentsController, TargetStatusBoard, ComponentSampleCounter) {
        let config = try AgentConfig.parse(source: config)
        let board = TargetStatusBoard()
        let counter = ComponentSampleCounter()
        let registry = ComponentRegistry(config: config, board: board, appended: counter) { name in
            var metrics = RemoteWriteMetrics()
            metrics.samplesTotal = name == "main" ? sent : 0
            return metrics
        }
        registry.discovered([:])
        return (ComponentsController(registry: registry), board, counter)
    }

    static func target() throws -> ScrapeTarget {
        let parsed = try AgentConfig.parse(source: config)
        let scrape = try #require(parsed.scrapes.first)
        return try #require(
            ScrapeTarget(
                discovered: ["__address__": "127.0.0.1:9100"],
                settings: TargetDiscovery.settings(for: scrape, in: parsed))
        )
    }

    @Test func theListHasEveryComponentWithItsHealthAndEdges() throws {
        let (controller, _, _) = try Self.controller(sent: 0)
        let list = controller.list()
        #expect(
            list.map(\.localID) == [
                "discovery.relabel.nodes", "prometheus.remote_write.default", "prometheus.scrape.nodes",
            ])
        let byID = Dictionary(uniqueKeysWithValues: list.map { ($0.localID, $0) })
        #expect(byID["discovery.relabel.nodes"]?.dataFlowEdgesTo == ["prometheus.scrape.nodes"])
        #expect(byID["discovery.relabel.nodes"]?.referencedBy == ["prometheus.scrape.nodes"])
        #expect(byID["prometheus.scrape.nodes"]?.dataFlowEdgesTo == ["prometheus.remote_write.default"])
        #expect(
            byID["prometheus.scrape.nodes"]?.referencesTo == [
                "discovery.relabel.nodes", "prometheus.remote_write.default",
            ])
        #expect(byID["prometheus.remote_write.default"]?.dataFlowEdgesTo == [])
        #expect(list.allSatisfy { $0.health.state == .healthy }, "\(list.map(\.health))")
        #expect(byID["discovery.relabel.nodes"]?.health.message == "2 targets in, 1 out")
    }

    @Test func theDetailHasArgumentsWithTheSecretRedactedAndExports() throws {
        let (controller, _, _) = try Self.controller(sent: 0)
        let detail = try #require(controller.detail("prometheus.remote_write.default"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(detail), as: UTF8.self)
        #expect(!text.contains("hunter2"))
        #expect(text.contains(#""value":{"type":"capsule","value":"(secret)"}"#))
        #expect(text.contains(#""exports":[{"name":"receiver","type":"attr""#))
        #expect(text.contains(#""moduleID":"""#))
        #expect(controller.detail("prometheus.scrape.missing") == nil)
        let relabel = try #require(controller.detail("discovery.relabel.nodes"))
        #expect(relabel.exports == [.attribute(name: "output", value: .targets([["__address__": "127.0.0.1:9100"]]))])
    }

    @Test func theGraphCountsWhatLeavesEachComponent() throws {
        let (controller, _, counter) = try Self.controller(sent: 1200)
        let target = try Self.target()
        counter.targetStarted(target, job: "prometheus.scrape.nodes")
        counter.scraped(target.key, report: ScrapeReport(timestamp: 0, duration: 0.01, samples: 500, appended: 510))
        let first = controller.graph(window: 5, now: 1000)
        let flows = Dictionary(uniqueKeysWithValues: first.data.map { ($0.componentID, $0) })
        #expect(flows["discovery.relabel.nodes"]?.type == .target)
        #expect(flows["discovery.relabel.nodes"]?.count == 1)
        #expect(flows["discovery.relabel.nodes"]?.targetComponentIDs == ["prometheus.scrape.nodes"])
        #expect(flows["discovery.relabel.nodes"]?.rate == nil)
        #expect(flows["prometheus.scrape.nodes"]?.count == 510)
        #expect(flows["prometheus.scrape.nodes"]?.targetComponentIDs == ["prometheus.remote_write.default"])
        #expect(flows["prometheus.remote_write.default"]?.count == 1200)
        #expect(flows["prometheus.remote_write.default"]?.endpoint == "main")
        #expect(flows["prometheus.remote_write.default"]?.url == "http://127.0.0.1:9090/api/v1/write")
        #expect(flows["prometheus.remote_write.default"]?.targetComponentIDs == [])

        counter.scraped(target.key, report: ScrapeReport(timestamp: 0, duration: 0.01, samples: 500, appended: 510))
        let second = controller.graph(window: 5, now: 1002)
        #expect(second.data.first { $0.componentID == "prometheus.scrape.nodes" }?.rate == 255)
        #expect(second.data.first { $0.componentID == "prometheus.remote_write.default" }?.rate == 0)
    }

    @Test func aScrapeWhoseTargetsAreAllDownIsUnhealthy() throws {
        let (controller, board, _) = try Self.controller(sent: 0)
        let target = try Self.target()
        board.targetStarted(target, job: "prometheus.scrape.nodes")
        board.scraped(
            target.key,
            report: ScrapeReport(timestamp: 0, duration: 0.01, samples: 0, error: "connection refused"))
        let scrape = try #require(controller.list().first { $0.localID == "prometheus.scrape.nodes" })
        #expect(scrape.health.state == .unhealthy)
        #expect(scrape.health.message.contains("connection refused"))
    }

    @Test func aKindWithoutAReaderShowsTheHealthItsPartsSetAndItsTargets() {
        // How a new discovery component plugs in before it has a reader: its parts set its health
        // and hand its targets to `discovered`.
        let http = ComponentID(name: "discovery.http", label: "api")
        var config = AgentConfig()
        config.evaluationOrder = [http]
        config.declarations[http] = ComponentDeclaration(
            id: http, arguments: [.attribute(name: "url", value: .string("http://127.0.0.1:8080/sd"))])
        let registry = ComponentRegistry(
            config: config, board: TargetStatusBoard(), appended: ComponentSampleCounter(), remoteWrite: { _ in nil })
        let controller = ComponentsController(registry: registry)
        #expect(controller.list().first?.health.state == .unknown)
        registry.setHealth(http, .healthy, message: "3 targets")
        registry.discovered([http: [["__address__": "a:1"], ["__address__": "b:1"], ["__address__": "c:1"]]])
        #expect(controller.list().first?.health.message == "3 targets")
        #expect(controller.list().first?.health.updatedTime != nil)
        #expect(controller.graph(window: 5).data.first?.count == 3)
        #expect(controller.detail("discovery.http.api")?.arguments.count == 1)
    }
}
