import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The Graph page, as Alloy's: one agent with discovery.file → discovery.relabel →
    /// prometheus.scrape → prometheus.remote_write, two node exporters and a Prometheus receiver;
    /// the component API checked against the receiver's own count, the page rendered by headless
    /// Chromium.
    @Suite(.serialized) struct GraphUITests {
        static let components = [
            "discovery.file.nodes", "discovery.relabel.nodes", "prometheus.scrape.nodes",
            "prometheus.remote_write.default",
        ]
        static let password = "graph-secret-7"

        @Test(
            .timeLimit(.minutes(5)),
            .enabled(
                if: Chromium.binary != nil,
                "no Chromium binary (/usr/bin/chromium): install the Debian package chromium to run the web UI test")
        )
        func graphShowsEveryComponentAndTheRatesTheReceiverIngests() async throws {
            let chromium = try #require(Chromium.binary)
            let directory = TemporaryDirectory()
            var exporters: [(ChildProcess, Int)] = []
            defer { for exporter in exporters { exporter.0.stop() } }
            for index in 1...2 { exporters.append(try await startNodeExporter(name: "node-exporter-\(index)")) }
            let receiver = try await PrometheusReceiver(directory: directory.sub("prometheus"))
            defer { receiver.process.stop() }
            let targets = directory.sub("targets.json")
            let addresses = exporters.map { "\"127.0.0.1:\($0.1)\"" }.joined(separator: ", ")
            try "[{\"targets\": [\(addresses)], \"labels\": {\"env\": \"graph\"}}]".write(
                toFile: targets, atomically: true, encoding: .utf8)
            let config = directory.sub("config.alloy")
            try Self.config(targets: targets, receiver: receiver.writeURL).write(
                toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "graph-1", port: freePort(), config: config, storage: directory.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            // 1. The API: every component healthy, with Alloy's fields and the data-flow edges.
            var list: [Info] = []
            let healthy = await waitUntil(within: .seconds(30)) {
                list = await agent.json("/api/v0/web/components", as: [Info].self) ?? []
                return list.count == 4 && list.allSatisfy { $0.health.state == "healthy" }
            }
            #expect(healthy, "components: \(list) \(agent.process.log.suffix(2000))")
            #expect(Set(list.map(\.localID)) == Set(Self.components))
            let edges = Dictionary(uniqueKeysWithValues: list.map { ($0.localID, $0.dataFlowEdgesTo) })
            #expect(edges["discovery.file.nodes"] == ["discovery.relabel.nodes"])
            #expect(edges["discovery.relabel.nodes"] == ["prometheus.scrape.nodes"])
            #expect(edges["prometheus.scrape.nodes"] == ["prometheus.remote_write.default"])
            #expect(edges["prometheus.remote_write.default"] == [])

            // 2. What leaves remote_write is what the receiver ingested: its count lies between two
            // readings of the receiver's, and its rate over 10 s matches the receiver's over the same
            // readings (within a request in flight at either end).
            var readings: [Reading] = []
            var last = ""
            let matched = await waitUntil(within: .seconds(60), every: .milliseconds(250)) {
                guard let before = await receiver.appendedSamples(),
                    let graph = await agent.json("/api/v0/web/graph?window=10", as: Graph.self),
                    let after = await receiver.appendedSamples(),
                    let sent = graph.data.first(where: { $0.componentID == "prometheus.remote_write.default" })
                else { return false }
                let reading = Reading(
                    at: ContinuousClock.now, receiverBefore: before, receiverAfter: after, sent: sent.count)
                defer { readings.append(reading) }
                // The receiver counts a request before the agent counts it sent: never the reverse.
                guard sent.count <= after, sent.count > 0 else {
                    last = "sent \(sent.count), receiver \(before)...\(after)"
                    return false
                }
                guard before <= sent.count, let rate = sent.rate,
                    let base = readings.last(where: {
                        reading.at - $0.at >= .seconds(10) && $0.receiverBefore <= $0.sent
                    })
                else { return false }
                let elapsed = (reading.at - base.at).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                let ingested =
                    Double(reading.receiverBefore + reading.receiverAfter - base.receiverBefore - base.receiverAfter)
                    / 2 / seconds
                last = "API rate \(rate), receiver \(ingested) over \(seconds) s"
                return ingested > 0 && abs(rate - ingested) <= 0.2 * ingested
            }
            #expect(matched, "remote_write edge against the receiver: \(last)")

            // 3. The Graph page: every component and edge, targets counted, samples/s on the scrape and
            // remote_write edges.
            var page = Page(dom: "")
            let drawn = await waitUntil(within: .seconds(40), every: .milliseconds(500)) {
                page = await Chromium.render(chromium, agent.url + "/#graph")
                let rates = page.graphEdges.filter { $0["data-type"] == "prometheus_metric" }
                return page.graphNodes.count == 5 && page.graphEdges.count == 4 && rates.count == 2
                    && rates.allSatisfy { Double($0["data-rate"] ?? "") ?? 0 > 0 }
            }
            #expect(drawn, "graph page: \(page.graphNodes) \(page.graphEdges) \(page.dom.suffix(3000))")
            #expect(
                Set(page.graphNodes.compactMap { $0["data-id"] }).isSuperset(of: Self.components),
                "\(page.graphNodes)")
            #expect(
                page.graphNodes.filter { Self.components.contains($0["data-id"] ?? "") }.allSatisfy {
                    $0["data-health"] == "healthy"
                })
            let drawnEdges = Dictionary(
                page.graphEdges.map { ("\($0["data-from"] ?? "") -> \($0["data-to"] ?? "")", $0) }
            ) { first, _ in first }
            for (from, to) in zip(Self.components.dropLast(), Self.components.dropFirst()) {
                #expect(drawnEdges["\(from) -> \(to)"] != nil, "no edge \(from) -> \(to): \(drawnEdges.keys)")
            }
            #expect(drawnEdges["discovery.file.nodes -> discovery.relabel.nodes"]?["data-count"] == "2")
            #expect(drawnEdges["discovery.relabel.nodes -> prometheus.scrape.nodes"]?["data-count"] == "2")
            #expect(page.dom.contains("2 targets"))
            #expect(page.dom.contains("samples/s"))
            #expect(page.graphEdges.contains { $0["data-to"]?.hasPrefix("endpoint prometheus.remote_write") == true })
            if let path = ProcessInfo.processInfo.environment["AGENTD_GRAPH_SCREENSHOT"] {
                await Chromium.screenshot(chromium, agent.url + "/#graph", to: path)
            }

            // 4. A component's page: health, evaluated arguments with the password as (secret), debug info.
            page = await Chromium.render(chromium, agent.url + "/#component/prometheus.remote_write.default")
            let detail = page.elements(tag: "div", class: "component-detail")
            #expect(detail.first?["data-id"] == "prometheus.remote_write.default", "\(page.dom.suffix(3000))")
            #expect(detail.first?["data-health"] == "healthy")
            #expect(page.dom.contains("(secret)"))
            #expect(!page.dom.contains(Self.password))
            #expect(page.dom.contains(receiver.writeURL))
            #expect(page.dom.contains("samples_sent"))
            let api = await agent.get("/api/v0/web/components/prometheus.remote_write.default")
            #expect(api?.status == 200)
            #expect(api?.body.contains(#""value":"(secret)""#) == true)
            #expect(api?.body.contains(Self.password) == false)

            // 5. The home page lists every component with its health.
            page = await Chromium.render(chromium, agent.url + "/")
            let rows = page.elements(tag: "tr", class: "component")
            #expect(Set(rows.compactMap { $0["data-id"] }) == Set(Self.components), "\(rows)")
            #expect(rows.allSatisfy { $0["data-health"] == "healthy" })
        }

        static func config(targets: String, receiver: String) -> String {
            """
            discovery.file "nodes" {
            \tfiles = ["\(targets)"]
            }

            discovery.relabel "nodes" {
            \ttargets = discovery.file.nodes.targets
            \trule {
            \t\tsource_labels = ["__address__"]
            \t\tregex         = "(.*):(.*)"
            \t\ttarget_label  = "port"
            \t\treplacement   = "$2"
            \t}
            }

            prometheus.scrape "nodes" {
            \ttargets         = discovery.relabel.nodes.output
            \tforward_to      = [prometheus.remote_write.default.receiver]
            \tscrape_interval = "1s"
            \tscrape_timeout  = "800ms"
            }

            prometheus.remote_write "default" {
            \tendpoint {
            \t\turl = "\(receiver)"
            \t\tbasic_auth {
            \t\t\tusername = "agentd"
            \t\t\tpassword = "\(password)"
            \t\t}
            \t\tqueue_config {
            \t\t\tbatch_send_deadline = "200ms"
            \t\t}
            \t}
            }
            """
        }

        struct Reading {
            var at: ContinuousClock.Instant
            var receiverBefore: Int
            var receiverAfter: Int
            var sent: Int
        }

        struct Info: Decodable {
            struct Health: Decodable {
                var state: String
                var message: String
            }
            var moduleID: String
            var localID: String
            var name: String
            var label: String
            var health: Health
            var referencedBy: [String]
            var referencesTo: [String]
            var dataFlowEdgesTo: [String]
        }

        struct Graph: Decodable {
            struct Flow: Decodable {
                var componentID: String
                var type: String
                var count: Int
                var rate: Double?
                var targetComponentIDs: [String]
            }
            var window: Int
            var data: [Flow]
        }
    }
}

extension Page {
    var graphNodes: [[String: String]] { elements(tag: "g", class: "graph-node") }
    var graphEdges: [[String: String]] { elements(tag: "path", class: "graph-edge") }
}

extension PrometheusReceiver {
    /// Samples the receiver has appended (`prometheus_tsdb_head_samples_appended_total`): with no
    /// scrape configured, exactly the samples remote write delivered.
    func appendedSamples() async -> Int? {
        guard let (status, body) = await httpGet(url + "/metrics"), status == 200 else { return nil }
        var total = 0.0
        var found = false
        for line in body.split(separator: "\n") where line.hasPrefix("prometheus_tsdb_head_samples_appended_total") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            total += value
            found = true
        }
        return found ? Int(total) : nil
    }
}
