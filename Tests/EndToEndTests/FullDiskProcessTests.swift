import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `agentd run` on a disk that fills up and frees again: a state it leaves by itself.
    @Suite(.serialized) struct FullDiskProcessTests {
        @Test(.timeLimit(.minutes(3))) func aFullDiskStopsAppendsCleanlyAndTheAgentResumesWithoutARestart()
            async throws
        {
            let dir = TemporaryDirectory()
            try await withSmallDisk(at: dir.sub("disk"), size: "4m") { disk in
                let (exporter, port) = try await startNodeExporter()
                defer { exporter.stop() }
                let receiver = try await PrometheusReceiver(directory: dir.sub("prometheus"))
                defer { receiver.process.stop() }
                try Scenario.configText(exporters: [port], receiver: receiver.writeURL).write(
                    toFile: dir.sub("config.alloy"), atomically: true, encoding: .utf8)
                let agent = try AgentProcess(
                    name: "small", port: freePort(), config: dir.sub("config.alloy"), storage: disk.path + "/data",
                    extra: ["--storage.wal-segment-size=65536"])
                defer { agent.process.stop() }
                try await agent.waitUntilReady()
                func metric(_ name: String) async -> Double? {
                    let body = await httpGet(agent.url + "/metrics")?.body ?? ""
                    return body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                        .flatMap { Double($0.split(separator: " ").last!) }
                }
                #expect(await waitUntil(within: .seconds(20)) { !(await receiver.rawSamples("up[1m]").isEmpty) })

                // The disk fills up.
                let filler = disk.fillUp("filler")
                let failing = await waitUntil(within: .seconds(30)) {
                    await httpGet(agent.url + "/-/ready").map {
                        $0.status == 503 && $0.body.contains("WAL appends failing (disk_full)")
                    } ?? false
                }
                #expect(failing, "\(agent.process.log.suffix(3000))")
                #expect(await metric("agentd_wal_appends_failing") == 1)
                #expect((await metric("agentd_wal_append_failures_total{reason=\"disk_full\"}") ?? 0) > 0)
                // The API still answers, and the target says why its scrapes are not stored.
                #expect(
                    await waitUntil(within: .seconds(10)) {
                        (await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).contains {
                            $0.lastError?.contains("No space left on device") == true
                        }
                    })

                // Space returns: appends resume by themselves, without a restart.
                try FileManager.default.removeItem(atPath: filler)
                let resumed = Int64(Date().timeIntervalSince1970 * 1000)
                #expect(await waitUntil(within: .seconds(30)) { await httpGet(agent.url + "/-/ready")?.status == 200 })
                #expect(await metric("agentd_wal_appends_failing") == 0)
                #expect(
                    await waitUntil(within: .seconds(30)) {
                        await receiver.rawSamples("up[30s]").contains { $0.1.contains { $0.0 >= resumed } }
                    })
                let log = agent.process.log
                // Logged once when it started, not once per scrape.
                #expect(log.components(separatedBy: "WAL appends are failing").count - 1 == 1, "\(log.suffix(3000))")
                #expect(log.contains("WAL appends resumed"))

                let status = await agent.process.terminate(grace: .seconds(20))
                #expect(status == 0, "exit status \(status): \(agent.process.log.suffix(2000))")
                let (code, output) = try await AgentProcess.run(["wal", "verify", agent.storage])
                #expect(code == 0, "\(output)")
                // The projections caught up by themselves: the replay index covers the recovery.
                let (replayCode, replayed) = try await AgentProcess.run(
                    ["replay", "--since", "10m", "--storage.path=\(agent.storage)", "--match", "up"])
                #expect(replayCode == 0)
                #expect(replayed.split(separator: "\n").count > 3)
            }
        }
    }
}
