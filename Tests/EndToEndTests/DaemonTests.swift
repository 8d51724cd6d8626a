import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `agentd run` as a process: its API, its shutdown, its lock and its reloads.
    @Suite(.serialized) struct DaemonTests {
        /// A standalone config scraping `ports` every second, remote-writing to `receiver`.
        private func writeConfig(_ path: String, ports: [Int], receiver: String) throws {
            try Scenario.configText(exporters: ports, receiver: receiver).write(
                toFile: path, atomically: true, encoding: .utf8)
        }

        /// An agent named `name` scraping the exporter at `port` and remote-writing to `receiver`,
        /// with its config and storage in `dir`.
        private func soloAgent(_ name: String, scraping port: Int, receiver: String, in dir: TemporaryDirectory)
            throws -> AgentProcess
        {
            try writeConfig(dir.sub("config.alloy"), ports: [port], receiver: receiver)
            return try AgentProcess(
                name: name, port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"))
        }

        @Test(.timeLimit(.minutes(3))) func servesItsAPIScrapesAndShutsDownCleanlyOnSIGTERM() async throws {
            let dir = TemporaryDirectory()
            let (exporter, port) = try await startNodeExporter()
            defer { exporter.stop() }
            let receiver = try await PrometheusReceiver(directory: dir.sub("prometheus"))
            defer { receiver.process.stop() }
            let agent = try soloAgent("solo", scraping: port, receiver: receiver.writeURL, in: dir)
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            #expect(await httpGet(agent.url + "/-/healthy")?.status == 200)
            let peers = await agent.json("/api/v0/web/peers", as: [PeerJSON].self) ?? []
            #expect(peers.count == 1)
            #expect(peers.first?.name == "solo" && peers.first?.isSelf == true && peers.first?.state == "participant")
            #expect(
                await waitUntil(within: .seconds(15)) {
                    (await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).contains {
                        $0.scrapedHere
                    }
                })
            #expect(
                await waitUntil(within: .seconds(20)) {
                    !(await receiver.rawSamples("up{scraped_by=\"solo\"}[1m]").isEmpty)
                })
            // Two scrapes of the target: one interval between them.
            let intervals = "prometheus_target_interval_length_seconds_count{interval=\"1s\"}"
            #expect(
                await waitUntil(within: .seconds(15)) {
                    metric(await httpGet(agent.url + "/metrics")?.body ?? "", intervals) ?? 0 >= 1
                })
            let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
            for name in [
                "agentd_build_info", "prometheus_scrape_targets_gauge", "agentd_wal_segments",
                "prometheus_remote_storage_samples_total{remote_name=",
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
            ] {
                #expect(metrics.contains(name), "/metrics lacks \(name)")
            }
            // The families dashboards made for Prometheus's agent mode read, with their types.
            let types = Dictionary(
                metrics.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { line in
                    let parts = line.split(separator: " ")
                    return (String(parts[2]), String(parts[3]))
                }, uniquingKeysWith: { first, _ in first })
            for (name, type) in [
                ("prometheus_agent_samples_appended_total", "counter"), ("prometheus_agent_active_series", "gauge"),
                ("prometheus_target_interval_length_seconds", "summary"),
                ("prometheus_target_sync_length_seconds", "summary"),
                ("prometheus_tsdb_wal_fsync_duration_seconds", "summary"),
                ("prometheus_tsdb_wal_segment_current", "gauge"), ("prometheus_tsdb_wal_storage_size_bytes", "gauge"),
                ("prometheus_tsdb_wal_writes_failed_total", "counter"),
                ("prometheus_tsdb_wal_truncations_total", "counter"),
                ("prometheus_tsdb_wal_corruptions_total", "counter"),
                ("prometheus_remote_storage_samples_total", "counter"),
                ("prometheus_remote_storage_highest_timestamp_in_seconds", "gauge"),
                ("prometheus_remote_storage_samples_pending", "gauge"),
                ("prometheus_remote_storage_shards_max", "gauge"),
                ("prometheus_remote_storage_shard_capacity", "gauge"),
                ("prometheus_remote_storage_max_samples_per_send", "gauge"),
                ("prometheus_remote_storage_sent_batch_duration_seconds", "histogram"),
                ("prometheus_target_scrapes_sample_duplicate_timestamp_total", "counter"),
                ("agentd_scrape_slots_skipped_total", "counter"),
            ] {
                #expect(types[name] == type, "\(name) is \(types[name] ?? "missing"), not \(type)")
            }
            // The node exporter's series and the five report series are active; every scrape so far appended.
            let active = try #require(metric(metrics, "prometheus_agent_active_series"))
            let appended = try #require(metric(metrics, "prometheus_agent_samples_appended_total"))
            #expect(active > 100 && appended >= active, "active \(active), appended \(appended)")
            #expect((metric(metrics, "prometheus_tsdb_wal_fsync_duration_seconds_count") ?? 0) >= 1)
            // The scrape summaries show quantiles, as Prometheus's do (a dashboard reads quantile="0.99").
            let p99 = metric(metrics, #"prometheus_target_interval_length_seconds{interval="1s",quantile="0.99"}"#)
            #expect(p99.map { !$0.isNaN } == true, "\(String(describing: p99))")

            let status = await agent.process.terminate(grace: .seconds(20))
            #expect(status == 0, "exit status \(status): \(agent.process.log.suffix(2000))")
            // A clean run and stop logs nothing at error level.
            #expect(!agent.process.log.contains("level=error"), "\(agent.process.log.suffix(3000))")
            let (code, output) = try await AgentProcess.run(["wal", "verify", agent.storage])
            #expect(code == 0, "\(output)")
        }

        /// `/-/ready` means ready for traffic: a restarted agent whose WAL holds samples its receiver
        /// has not got yet serves, but is not ready until a real Prometheus has them.
        @Test(.timeLimit(.minutes(3))) func aRestartedAgentIsReadyOnlyOnceItHasDeliveredWhatItHadAppended()
            async throws
        {
            let dir = TemporaryDirectory()
            let (exporter, port) = try await startNodeExporter()
            defer { exporter.stop() }
            let receiverPort = freePort()
            let agent = try soloAgent(
                "solo", scraping: port, receiver: "http://127.0.0.1:\(receiverPort)/api/v1/write", in: dir)
            defer { agent.process.stop() }
            // Nothing receives yet: the samples stay in the WAL (ready: nothing was appended before this start).
            try await agent.waitUntilReady()
            #expect(
                await waitUntil(within: .seconds(20)) {
                    let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
                    return (metric(metrics, "agentd_remote_storage_wal_backlog_bytes") ?? 0) > 0
                })
            await agent.process.kill9()

            try agent.restart()
            try await agent.waitUntilHealthy()
            let unready = await agent.get("/-/ready")
            #expect(unready?.status == 503, "\(unready?.body ?? "")")
            #expect(
                unready?.body.contains("has not yet delivered the WAL written before this start") == true,
                "\(unready?.body ?? "")")

            let receiver = try await PrometheusReceiver(directory: dir.sub("prometheus"), port: receiverPort)
            defer { receiver.process.stop() }
            try await agent.waitUntilReady()
            // What the first run scraped is in Prometheus.
            #expect(!(await receiver.rawSamples("up{scraped_by=\"solo\"}[10m]").isEmpty))
        }

        /// A process paused for 3 s (SIGSTOP: a suspended VM, a starved machine) wakes more than an
        /// interval behind its 1-s slots: it skips the slots it missed and counts them.
        @Test(.timeLimit(.minutes(2))) func slotsSkippedAfterAPauseAreCounted() async throws {
            let dir = TemporaryDirectory()
            let (exporter, port) = try await startNodeExporter()
            defer { exporter.stop() }
            let agent = try soloAgent(
                "paused", scraping: port, receiver: "http://127.0.0.1:\(freePort())/api/v1/write", in: dir)
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            let skipped = "agentd_scrape_slots_skipped_total"
            #expect(
                await waitUntil(within: .seconds(15)) {
                    (await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).contains {
                        $0.scrapedHere
                    }
                })
            #expect(metric(await httpGet(agent.url + "/metrics")?.body ?? "", skipped) != nil)
            agent.process.signal(SIGSTOP)
            // The pause itself (the fault), not a wait for something.
            try await Task.sleep(for: .seconds(3))
            agent.process.signal(SIGCONT)
            #expect(
                await waitUntil(within: .seconds(15)) {
                    metric(await httpGet(agent.url + "/metrics")?.body ?? "", skipped) ?? 0 >= 1
                })
            #expect(agent.process.log.contains("Scrape loop fell behind; skipping missed slots"))
        }

        @Test(.timeLimit(.minutes(2))) func aSecondAgentOnTheSameStoragePathIsRefused() async throws {
            let dir = TemporaryDirectory()
            try writeConfig(
                dir.sub("config.alloy"), ports: [freePort()], receiver: "http://127.0.0.1:\(freePort())/api/v1/write")
            let first = try AgentProcess(
                name: "first", port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"))
            defer { first.process.stop() }
            try await first.waitUntilReady()
            let second = try AgentProcess(
                name: "second", port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"))
            let status = await second.process.waitForExit(within: .seconds(20))
            #expect(status == 1)
            #expect(second.process.log.contains("another agentd is already using"), "\(second.process.log)")
            #expect(await httpGet(first.url + "/-/ready")?.status == 200)
        }

        @Test(.timeLimit(.minutes(3))) func aBrokenReloadKeepsTheRunningConfigurationAndAGoodOneReplacesIt()
            async throws
        {
            let dir = TemporaryDirectory()
            let (exporterA, portA) = try await startNodeExporter(name: "exporter-a")
            defer { exporterA.stop() }
            let (exporterB, portB) = try await startNodeExporter(name: "exporter-b")
            defer { exporterB.stop() }
            let receiver = "http://127.0.0.1:\(freePort())/api/v1/write"
            let config = dir.sub("config.alloy")
            try writeConfig(config, ports: [portA], receiver: receiver)
            let agent = try AgentProcess(name: "reloader", port: freePort(), config: config, storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            func addresses() async -> Set<String> {
                Set(
                    (await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).compactMap {
                        $0.discoveredLabels["__address__"]
                    })
            }
            func failedReloads() -> Int { agent.process.log.components(separatedBy: "Reload failed").count - 1 }
            #expect(await waitUntil(within: .seconds(10)) { await addresses() == ["127.0.0.1:\(portA)"] })

            // Broken: a syntax error. The reload fails with file:line:column and nothing changes. The
            // answer comes once the reload has failed: there is nothing left to wait for.
            try "prometheus.scrape \"x\" {\n  targets = [\n".write(toFile: config, atomically: true, encoding: .utf8)
            let broken = await httpPost(agent.url + "/-/reload")
            #expect(broken?.status == 400)
            #expect(broken?.body.contains("config.alloy:") == true, "\(broken?.body ?? "")")
            #expect(await addresses() == ["127.0.0.1:\(portA)"])
            #expect(await httpGet(agent.url + "/-/ready")?.status == 200)

            // Good: the target set follows the new file.
            try writeConfig(config, ports: [portB], receiver: receiver)
            #expect(await httpPost(agent.url + "/-/reload")?.status == 200)
            #expect(await waitUntil(within: .seconds(10)) { await addresses() == ["127.0.0.1:\(portB)"] })

            // SIGHUP reloads too, and a broken file is again refused: wait for the log line of
            // this second failure.
            let failedBefore = failedReloads()
            try "discovery.docker \"x\" {}\n".write(toFile: config, atomically: true, encoding: .utf8)
            agent.process.signal(SIGHUP)
            #expect(
                await waitUntil(within: .seconds(10)) { failedReloads() > failedBefore },
                "\(agent.process.log.suffix(1500))")
            #expect(agent.process.isRunning)
            #expect(await addresses() == ["127.0.0.1:\(portB)"])
            #expect(agent.process.log.contains("Reload failed"), "\(agent.process.log.suffix(1500))")
        }

        @Test(.timeLimit(.minutes(1))) func theUpstreamConfigRunsAndNamesTheDockerSocketItCannotReach() async throws {
            let dir = TemporaryDirectory()
            let upstream =
                String(#filePath.dropLast("Tests/EndToEndTests/DaemonTests.swift".count))
                + "../shared/scenario/upstream-config.alloy"
            let agent = try AgentProcess(name: "upstream", port: freePort(), config: upstream, storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            let socket = "/var/run/docker.sock"
            try #require(
                !FileManager.default.fileExists(atPath: socket),
                "this test shows the error for a missing \(socket); this machine has one")
            var status: DockerDiscoveryTests.DiscoveryJSON?
            let failing = await waitUntil(within: .seconds(15)) {
                status = await agent.json("/api/v0/discovery", as: [DockerDiscoveryTests.DiscoveryJSON].self)?.first {
                    $0.component == "discovery.docker.containers"
                }
                return status?.healthy == false
            }
            #expect(failing, "\(agent.process.log)")
            #expect(
                status?.error
                    == "unix://\(socket): no socket at \(socket); is the Docker daemon (or podman system service) running?"
            )
        }

        @Test(.timeLimit(.minutes(1))) func checkMetricsExitsZeroForAValidExpositionAndOneWithLineAndColumn()
            async throws
        {
            let dir = TemporaryDirectory()
            let fixture =
                String(#filePath.dropLast("EndToEndTests/DaemonTests.swift".count))
                + "ScrapeTests/Fixtures/node_exporter.prom"
            let bad = dir.sub("bad.prom")
            try "# TYPE up gauge\nup{job=\"x\" 1\n".write(toFile: bad, atomically: true, encoding: .utf8)
            func check(_ file: String, _ format: String) async throws -> (Int32, String) {
                let shell = try ChildProcess(
                    "/bin/sh", ["-c", "exec '\(AgentProcess.binary)' check-metrics --format \(format) < '\(file)'"],
                    name: "check-metrics")
                let status = await shell.waitForExit(within: .seconds(30)) ?? -1
                return (status, shell.log)
            }
            #expect(try await check(fixture, "text").0 == 0)
            let (status, output) = try await check(bad, "text")
            #expect(status == 1)
            #expect(output.hasPrefix("2:"), "\(output)")
            let (omStatus, omOutput) = try await check(fixture, "openmetrics")
            #expect(omStatus == 1, "a text exposition lacks OpenMetrics' # EOF: \(omOutput)")
            let notUTF8 = dir.sub("latin1.prom")
            try Data("a 1\nb{c=\"caf".utf8 + [0xE9] + "\"} 2\n".utf8).write(to: URL(fileURLWithPath: notUTF8))
            let (utf8Status, utf8Output) = try await check(notUTF8, "text")
            #expect(utf8Status == 1)
            #expect(utf8Output.hasPrefix("2:9: invalid UTF-8 in the value of label \"c\""), "\(utf8Output)")
        }
    }
}
