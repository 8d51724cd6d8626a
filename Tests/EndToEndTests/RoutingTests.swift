import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// Routing by `forward_to`, with real peers: two node exporters, two real Prometheus
    /// receivers, and a graph where one scrape is fanned out to both receivers (to a through a
    /// `prometheus.relabel` that drops `go_.*`, to b as scraped), another goes to b only, and a
    /// third forwards to nothing; b's endpoint drops `process_.*` with `write_relabel_config`.
    /// Each receiver must hold exactly the samples whose path reaches it (compared sample by
    /// sample with `agentd replay --receiver`), and the WAL keeps those that reach no receiver.
    @Suite(.serialized) struct RoutingTests {
        @Test(.timeLimit(.minutes(3)))
        func eachReceiverHoldsExactlyWhatItsPathSaysAndReplayAgrees() async throws {
            let dir = TemporaryDirectory()
            let (first, firstPort) = try await startNodeExporter(name: "node-exporter-1")
            defer { first.stop() }
            let (second, secondPort) = try await startNodeExporter(name: "node-exporter-2")
            defer { second.stop() }
            let receiverA = try await PrometheusReceiver(directory: dir.sub("prometheus-a"))
            defer { receiverA.process.stop() }
            let receiverB = try await PrometheusReceiver(directory: dir.sub("prometheus-b"))
            defer { receiverB.process.stop() }

            let config = dir.sub("config.alloy")
            try Self.config(
                first: firstPort, second: secondPort, receiverA: receiverA.writeURL, receiverB: receiverB.writeURL
            ).write(toFile: config, atomically: true, encoding: .utf8)
            let began = wallClock()
            let agent = try AgentProcess(name: "routing", port: freePort(), config: config, storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            // A few scrapes of every target, then a graceful stop: the forwarders drain the WAL.
            let since = wallClock() + 2000
            #expect(
                await waitUntil(within: .seconds(30)) {
                    let targets = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                    return targets.count == 3 && targets.allSatisfy { ($0.lastScrape ?? 0) >= since }
                }, "agentd did not scrape its three targets: \(agent.process.log.suffix(2000))")
            let metrics = await agent.get("/metrics")?.body ?? ""
            let id = "{component_id=\"prometheus.relabel.drop_go\"}"
            let processed = try #require(metric(metrics, "prometheus_relabel_metrics_processed\(id)"))
            let written = try #require(metric(metrics, "prometheus_relabel_metrics_written\(id)"))
            #expect(processed > written && written > 0, "processed \(processed), written \(written)")
            // The component page (Alloy's API) says the same.
            let page = await agent.get("/api/v0/web/components/prometheus.relabel.drop_go")
            #expect(page?.status == 200)
            #expect(page?.body.contains("samples in") == true, "\(page?.body ?? "")")
            #expect(
                await agent.process.terminate() == 0, "agentd did not stop cleanly: \(agent.process.log.suffix(2000))")
            #expect(agent.process.log.contains("Remote write drained"))
            let ended = wallClock() + 60_000

            let atA = SampleSet(try await receiverA.remoteRead(from: began - 60_000, to: ended))
            let atB = SampleSet(try await receiverB.remoteRead(from: began - 60_000, to: ended))
            let routedToA = try await Self.replay(agent, receiver: "a")
            let routedToB = try await Self.replay(agent, receiver: "prometheus.remote_write.b")
            let everything = try await Self.replay(agent, receiver: nil)
            // What b's endpoint is sent, as replay shows it: b's route, after its write_relabel_config.
            let sentToB = try await Self.replay(agent, endpoint: "prometheus.remote_write.b.0", config: config)

            // The paths: "both" reaches a (relabelled) and b, "only_b" reaches b, "nowhere" nothing.
            #expect(Self.jobs(atA) == ["prometheus.scrape.both"])
            #expect(Self.jobs(atB) == ["prometheus.scrape.both", "prometheus.scrape.only_b"])
            #expect(
                Self.jobs(everything) == [
                    "prometheus.scrape.both", "prometheus.scrape.nowhere", "prometheus.scrape.only_b",
                ])
            // The WAL holds what the graph delivered: no go_ series on a's path.
            #expect(Self.names(routedToA).filter { $0.hasPrefix("go_") }.isEmpty)
            #expect(!Self.names(routedToB).filter { $0.hasPrefix("go_") }.isEmpty)
            #expect(!Self.names(routedToB).filter { $0.hasPrefix("process_") }.isEmpty)
            // Each receiver holds exactly what replay says its path carried, sample by sample, less
            // what b's write_relabel_config drops as it sends — which `replay --endpoint` applies.
            let routedToBLessProcess = Self.filter(routedToB) { !$0.hasPrefix("process_") }
            #expect(sentToB.count > 100)
            #expect(
                sentToB.subtracting(routedToBLessProcess).isEmpty && routedToBLessProcess.subtracting(sentToB).isEmpty)
            #expect(Self.names(atB).filter { $0.hasPrefix("process_") }.isEmpty)
            for (name, received, routed) in [("a", atA, routedToA), ("b", atB, sentToB)] {
                #expect(received.count > 100, "receiver \(name) holds \(received.count) samples")
                let missing = routed.subtracting(received)
                let extra = received.subtracting(routed)
                #expect(missing.isEmpty, "receiver \(name) lacks \(missing.count), e.g. \(missing.prefix(3))")
                #expect(extra.isEmpty, "receiver \(name) holds \(extra.count) it should not, e.g. \(extra.prefix(3))")
                #expect(received.differences(from: routed).isEmpty)
            }
            // The fanned-out scrape reached both receivers with the same samples, but for what each path drops.
            let bothAtA = Self.filter(atA) { _ in true }
            let bothAtB = Self.filter(Self.only("prometheus.scrape.both", atB)) { !$0.hasPrefix("go_") }
            let bothAtAWithoutProcess = Self.filter(bothAtA) { !$0.hasPrefix("process_") }
            #expect(
                bothAtAWithoutProcess.subtracting(bothAtB).isEmpty && bothAtB.subtracting(bothAtAWithoutProcess).isEmpty
            )
        }

        static func config(first: Int, second: Int, receiverA: String, receiverB: String) -> String {
            """
            prometheus.scrape "both" {
              targets         = [{"__address__" = "127.0.0.1:\(first)"}]
              forward_to      = [prometheus.relabel.drop_go.receiver, prometheus.remote_write.b.receiver]
              scrape_interval = "1s"
              scrape_timeout  = "1s"
            }

            prometheus.scrape "only_b" {
              targets         = [{"__address__" = "127.0.0.1:\(second)"}]
              forward_to      = [prometheus.remote_write.b.receiver]
              scrape_interval = "1s"
              scrape_timeout  = "1s"
            }

            // A label of its own: the same address and labels would be the same target (its key ignores the job).
            prometheus.scrape "nowhere" {
              targets         = [{"__address__" = "127.0.0.1:\(second)", "path" = "nowhere"}]
              forward_to      = []
              scrape_interval = "1s"
              scrape_timeout  = "1s"
            }

            prometheus.relabel "drop_go" {
              forward_to = [prometheus.remote_write.a.receiver]
              rule {
                source_labels = ["__name__"]
                regex         = "go_.*"
                action        = "drop"
              }
            }

            prometheus.remote_write "a" {
              endpoint {
                url = "\(receiverA)"
                queue_config { batch_send_deadline = "200ms" }
              }
            }

            prometheus.remote_write "b" {
              endpoint {
                url = "\(receiverB)"
                queue_config { batch_send_deadline = "200ms" }
                write_relabel_config {
                  source_labels = ["__name__"]
                  regex         = "process_.*"
                  action        = "drop"
                }
              }
            }
            """
        }

        /// `agentd replay --format json` of the whole WAL: for one receiver or all, or as one
        /// configured endpoint is sent it.
        static func replay(
            _ agent: AgentProcess, receiver: String? = nil, endpoint: String? = nil, config: String? = nil
        ) async throws -> SampleSet {
            var arguments = ["replay", "--since", "1h", "--format", "json", "--storage.path", agent.storage]
            if let receiver { arguments += ["--receiver", receiver] }
            if let endpoint { arguments += ["--endpoint", endpoint] }
            if let config { arguments += ["--config", config] }
            let (status, output) = try await AgentProcess.run(arguments)
            #expect(status == 0, "agentd replay failed: \(output.suffix(2000))")
            return try SampleSet(replayJSON: output)
        }

        /// The `job` labels of the series held.
        static func jobs(_ set: SampleSet) -> Set<String> {
            Set(set.series.keys.compactMap { key in Self.label("job", in: key) })
        }

        /// The samples of one job.
        static func only(_ job: String, _ set: SampleSet) -> SampleSet {
            var result = SampleSet([])
            for (key, samples) in set.series where Self.label("job", in: key) == job {
                for (timestamp, bits) in samples { result.insert(series: key, timestamp: timestamp, bits: bits) }
            }
            return result
        }

        /// The metric names of the series held.
        static func names(_ set: SampleSet) -> Set<String> {
            Set(set.series.keys.compactMap { key in Self.label("__name__", in: key) })
        }

        /// The samples of the series whose metric name passes `keep`.
        static func filter(_ set: SampleSet, _ keep: (String) -> Bool) -> SampleSet {
            var result = SampleSet([])
            for (key, samples) in set.series where keep(Self.label("__name__", in: key) ?? "") {
                for (timestamp, bits) in samples { result.insert(series: key, timestamp: timestamp, bits: bits) }
            }
            return result
        }

        /// A label's value in a series key made by `SampleSet.key(_:)`.
        static func label(_ name: String, in key: String) -> String? {
            guard let start = key.range(of: " \(name)=\"") ?? key.range(of: "{\(name)=\"") else { return nil }
            let rest = key[start.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
    }
}
