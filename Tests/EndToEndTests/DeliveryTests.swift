import Events
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// "Nothing appended is ever lost", end to end: a real agentd is SIGKILLed at random moments
    /// and its real Prometheus receiver is taken down and brought back, and in the end every
    /// sample the WAL holds must be at the receiver, bit-exact, and nothing else.
    ///
    /// Kills are paced by progress, never by sleeping on a condition: the test polls the agent's
    /// `/api/v0/targets` until every target has been scraped a random 0 to 3 more times, then
    /// lets a random fraction of a second pass (the moment within the cycle) and sends SIGKILL.
    /// The WAL rotates at 64 KiB, so a run writes dozens of segments. The WAL is read at the end
    /// with `agentd replay --format json` and the receiver with remote read, which, unlike a
    /// PromQL range selector, returns StaleNaN markers.
    @Suite(.serialized) struct DeliveryTests {
        static let targetCount = 5
        static let seriesPerTarget = 300
        static let kills = 22
        static let outages = 4

        @Test(.timeLimit(.minutes(5)))
        func everySampleInTheWALReachesTheReceiverAcrossKillsAndOutages() async throws {
            let seed =
                ProcessInfo.processInfo.environment["AGENTD_DELIVERY_SEED"].flatMap { UInt64($0) }
                ?? UInt64.random(in: 0 ... .max)
            print(
                "DeliveryTests: seed \(seed) (AGENTD_DELIVERY_SEED=\(seed) replays this schedule of kills and outages)")
            var random = SeededGenerator(seed: seed)
            let began = ContinuousClock.now
            let beganAt = wallClock()
            let dir = TemporaryDirectory()
            let logs = LogFiles()
            defer {
                logs.removeAll()
                withExtendedLifetime(dir) {}
            }

            let targets = try await SyntheticTargets(
                count: Self.targetCount, series: Self.seriesPerTarget, directory: dir.path)
            defer { targets.process.stop(grace: .zero) }
            let receiver = try await PrometheusReceiver(directory: dir.sub("prometheus"))
            logs.add(receiver.process)
            defer { receiver.process.stop() }
            let config = dir.sub("config.alloy")
            try Self.config(targets: targets.ports, receiver: receiver.writeURL).write(
                toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "delivery", port: freePort(), config: config, storage: dir.sub("data"),
                extra: ["--storage.wal-segment-size=65536", "--storage.remote.flush-deadline=10s"])
            logs.add(agent.process)
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            var lives = [Life(number: 1, start: wallClock())]
            try await waitForScrapes(2, of: agent)

            // The schedule: which kills an outage starts before, and for how many kills the
            // receiver stays down (0: it is back before that same kill). One outage in each of
            // `outages` windows of kills, starting early enough in its window to end within it.
            var outageLengths: [Int: Int] = [:]
            let window = (Self.kills - 2) / Self.outages
            for index in 0..<Self.outages {
                let start = 2 + index * window + Int.random(in: 0...(window - 3), using: &random)
                outageLengths[start] = Int.random(in: 0...2, using: &random)
            }
            // And before which kill the targets go down for a scrape cycle or two: their series get
            // StaleNaN markers, which must reach the receiver as well.
            let targetOutage = Int.random(in: 2...(Self.kills - 1), using: &random)
            var receiverUp = true
            var outages = 0
            var killsUntilReceiverReturns = 0
            for kill in 1...Self.kills {
                if let length = outageLengths[kill] {
                    await receiver.terminate()
                    receiverUp = false
                    outages += 1
                    lives[lives.count - 1].outage = true
                    if length == 0 {
                        // Down while agentd runs on, and back before the kill.
                        try await waitForScrapes(Int.random(in: 1...3, using: &random), of: agent)
                        try await receiver.restart()
                        logs.add(receiver.process)
                        receiverUp = true
                    } else {
                        killsUntilReceiverReturns = length
                    }
                }
                if kill == targetOutage {
                    // After a scrape that succeeded: the failures then mark its series stale.
                    try await waitForScrapes(1, of: agent)
                    await targets.stop()
                    lives[lives.count - 1].targetsDown = true
                    try await waitForScrapes(Int.random(in: 1...2, using: &random), of: agent)
                    try await targets.restart()
                }
                // Pace by progress: kill after a random number (0 to 3) of further scrape cycles of
                // every target, at a random moment within the next second.
                let cycles = Int.random(in: 0...3, using: &random)
                try await waitForScrapes(cycles, of: agent)
                try await randomMoment(milliseconds: Int.random(in: 0..<1000, using: &random))
                await agent.process.kill9()
                lives[lives.count - 1].end = wallClock()
                lives[lives.count - 1].ending = "SIGKILL #\(kill) after \(cycles) scrape cycles"
                lives[lives.count - 1].read(agent.process.log)

                var receiverReturnsAfterRestart = false
                if !receiverUp {
                    killsUntilReceiverReturns -= 1
                    if killsUntilReceiverReturns == 0 {
                        // Back either while agentd is down or once it runs again.
                        if Bool.random(using: &random) {
                            try await receiver.restart()
                            logs.add(receiver.process)
                            receiverUp = true
                        } else {
                            receiverReturnsAfterRestart = true
                        }
                    }
                }
                if kill % 7 == 3 {
                    // The SQLite index is a projection: deleting it must neither resend nor skip anything.
                    for suffix in ["", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(atPath: agent.storage + "/index.sqlite" + suffix)
                    }
                }
                try agent.restart()
                logs.add(agent.process)
                lives.append(Life(number: lives.count + 1, start: wallClock(), outage: !receiverUp))
                if receiverUp {
                    try await agent.waitUntilReady()
                } else {
                    // Not ready while what it appended before is undelivered: the receiver is down.
                    try await agent.waitUntilHealthy()
                    let ready = await agent.get("/-/ready")
                    #expect(
                        ready?.status == 200 || ready?.body.contains("has not yet delivered the WAL") == true,
                        "\(ready.map { "\($0.status) \($0.body)" } ?? "no answer")")
                }
                if receiverReturnsAfterRestart {
                    try await receiver.restart()
                    logs.add(receiver.process)
                    receiverUp = true
                }
            }
            if !receiverUp {
                try await receiver.restart()
                logs.add(receiver.process)
                receiverUp = true
            }

            // The last life delivers everything: nothing pending, and the newest sample sent is
            // at least as new as the newest appended when the wait began.
            try await waitForScrapes(1, of: agent)
            let newest =
                (await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).compactMap(\.lastScrape)
                .max() ?? 0
            let deliveryBegan = ContinuousClock.now
            let settled = await waitUntil(within: .seconds(90), every: .milliseconds(200)) {
                let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
                return metric(metrics, "prometheus_remote_storage_samples_pending") == 0
                    && (metric(metrics, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds") ?? 0) * 1000
                        >= Double(newest)
            }
            print(
                "DeliveryTests: the last agentd \(settled ? "caught up" : "did NOT catch up") in "
                    + "\(ContinuousClock.now - deliveryBegan) (nothing pending, newest sent ≥ \(clock(newest)))")
            let status = await agent.process.terminate(grace: .seconds(30))
            lives[lives.count - 1].end = wallClock()
            lives[lives.count - 1].ending = "SIGTERM, exit status \(status)"
            lives[lives.count - 1].read(agent.process.log)
            #expect(status == 0, "agentd's graceful shutdown: exit status \(status): \(agent.process.log.suffix(1500))")

            // What the WAL holds, by `agentd replay` as a process, and what the receiver stored.
            let segments = try FileManager.default.contentsOfDirectory(atPath: agent.storage + "/wal")
                .compactMap { $0.count == 8 ? Int($0) : nil }.sorted()
            let replay = try ChildProcess(
                AgentProcess.binary,
                ["replay", "--since", "1h", "--format", "json", "--storage.path=\(agent.storage)"], name: "replay")
            logs.add(replay)
            guard let replayStatus = await replay.waitForExit(within: .seconds(60)) else {
                await replay.kill9()
                throw TestSupportError("agentd replay did not finish within 60 s")
            }
            let wal = try SampleSet(replayJSON: replay.log)
            #expect(replayStatus == 0, "agentd replay: exit status \(replayStatus): \(wal.otherLines.prefix(5))")
            #expect(wal.otherLines.isEmpty, "agentd replay reported: \(wal.otherLines.prefix(5))")
            // The replay must show every sample the log holds: read the same log in-process too.
            let appended = try sampleCount(walDirectory: agent.storage + "/wal")
            #expect(wal.lines == appended, "agentd replay printed \(wal.lines) samples; the WAL holds \(appended)")
            // Remote read, not the query API: a range selector leaves StaleNaN markers out.
            let received = SampleSet(try await receiver.remoteRead(from: beganAt - 60_000, to: wallClock() + 60_000))

            let missing = wal.subtracting(received)
            let invented = received.subtracting(wal)
            let differing = wal.differences(from: received)
            print(
                """
                DeliveryTests: \(Self.kills) SIGKILLs of agentd, \(outages) receiver outages, 1 target outage, \
                \(segments.count) WAL segments (\(lives.count) opened by a start, \(segments.count - lives.count) by \
                rotation at 64 KiB); \
                \(wal.count) WAL samples (\(wal.staleMarkers) StaleNaN) in \(wal.series.count) series compared with \
                \(received.count) received (\(received.staleMarkers) StaleNaN) in \(received.series.count) series: \
                \(missing.count) missing, \(invented.count) not in the WAL, \(differing.count) with another value; \
                agentd logged \(lives.reduce(0) { $0 + $1.droppedRequests }) requests dropped on a refusal; \
                \(ContinuousClock.now - began) in all
                """)
            for life in lives { print("  \(life)") }
            #expect(wal.count >= Self.kills * Self.targetCount * Self.seriesPerTarget, "the WAL holds too little")
            #expect(
                wal.staleMarkers >= Self.targetCount * Self.seriesPerTarget,
                "the target outage should have left StaleNaN markers in the WAL")
            #expect(wal.conflicting.count == 0, "the WAL holds two values for \(wal.conflicting.prefix(5))")
            #expect(
                missing.count == 0,
                "\(Self.report(missing, of: wal, what: "WAL samples never reached the receiver", lives: lives))")
            #expect(
                invented.count == 0,
                "\(Self.report(invented, of: received, what: "samples at the receiver are not in the WAL", lives: lives))"
            )
            #expect(
                differing.count == 0,
                """
                \(differing.count) samples reached the receiver with another value, e.g. \
                \(spread(differing, 6).map { "\($0.0) but received \(SampleSet.describe($0.1))" })
                """)
        }

        /// The synthetic targets, scraped every second and remote-written to `receiver`; the WAL keeps its
        /// segments for an hour, so the WAL read at the end is everything appended.
        static func config(targets: [Int], receiver: String) -> String {
            let list = targets.map { "\t\t{\"__address__\" = \"127.0.0.1:\($0)\"}," }.joined(separator: "\n")
            return """
                prometheus.scrape "synthetic" {
                \ttargets = [
                \(list)
                \t]
                \tforward_to      = [prometheus.remote_write.receiver.receiver]
                \tscrape_interval = "1s"
                \tscrape_timeout  = "900ms"
                }

                prometheus.remote_write "receiver" {
                \tendpoint {
                \t\turl            = "\(receiver)"
                \t\tremote_timeout = "5s"

                \t\tqueue_config {
                \t\t\tbatch_send_deadline = "200ms"
                \t\t\tmax_backoff         = "1s"
                \t\t}
                \t}

                \twal {
                \t\tmin_keepalive_time = "1h"
                \t}
                }
                """
        }

        /// Waits until every target has finished `cycles` more scrapes: its last scrape started at
        /// least `cycles - 1` intervals after now.
        private func waitForScrapes(_ cycles: Int, of agent: AgentProcess) async throws {
            guard cycles > 0 else { return }
            let since = wallClock() + Int64(cycles - 1) * 1000
            let done = await waitUntil(within: .seconds(cycles + 15), every: .milliseconds(50)) {
                let targets = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                return targets.count == Self.targetCount && targets.allSatisfy { ($0.lastScrape ?? 0) >= since }
            }
            guard done else {
                throw TestSupportError("agentd did not scrape \(cycles) more times: \(agent.process.log.suffix(2000))")
            }
        }

        /// A failure message: how many of `set`'s samples, in how many series, by agent life,
        /// with examples.
        static func report(_ samples: [SampleSet.Sample], of set: SampleSet, what: String, lives: [Life]) -> String {
            guard !samples.isEmpty else { return "" }
            let series = Set(samples.map(\.series))
            let up = samples.filter { $0.series.contains("__name__=\"up\"") }.count
            var byLife: [Int: Int] = [:]
            for sample in samples {
                let life = lives.last { $0.start <= sample.timestamp } ?? lives[0]
                byLife[life.number, default: 0] += 1
            }
            let percent = String(format: "%.1f", Double(samples.count) * 100 / Double(max(set.count, 1)))
            return """
                \(samples.count) of \(set.count) \(what) (\(percent) %), in \(series.count) of \(set.series.count) \
                series (\(up) of them `up` samples).
                By the agentd process running at their timestamps:
                \(lives.filter { byLife[$0.number] != nil }.map { "  \(byLife[$0.number]!) from \($0)" }.joined(separator: "\n"))
                Examples:
                \(spread(samples, 8).map { "  \($0)" }.joined(separator: "\n"))
                """
        }
    }
}

/// One agentd process, from its start to its kill or shutdown.
struct Life: CustomStringConvertible {
    var number: Int
    var start: Int64
    var end: Int64?
    /// Whether the receiver was down for some of it.
    var outage = false
    /// Whether the scrape targets were down for some of it.
    var targetsDown = false
    var ending = "running"
    /// Requests the receiver refused that agentd dropped, from its log, and the first refusal.
    var droppedRequests = 0
    var firstRefusal: String?

    mutating func read(_ log: String) {
        let drops = log.split(separator: "\n").filter { $0.contains("remote write request dropped") }
        droppedRequests = drops.count
        firstRefusal = drops.first.flatMap { line in
            line.range(of: "remote_write.message=").map { start in
                String(line[start.upperBound...].prefix(160)).replacingOccurrences(of: "\\n\"", with: "\"")
                    .replacingOccurrences(of: "\\n", with: " ")
            }
        }
    }

    var description: String {
        let span = "\(clock(start))–\(end.map(clock) ?? "…")"
        let receiver =
            (outage ? ", receiver down for part of it" : "") + (targetsDown ? ", targets down for a while" : "")
        let drops = droppedRequests > 0 ? "; \(droppedRequests) requests dropped, e.g. \(firstRefusal ?? "?")" : ""
        return "agentd #\(number) (\(span), \(ending)\(receiver))\(drops)"
    }
}

/// The temporary log files of the processes a test started, removed when it ends.
final class LogFiles: @unchecked Sendable {
    private var paths: [String] = []

    func add(_ process: ChildProcess) { paths.append(process.logPath) }

    func removeAll() {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
        paths.removeAll()
    }
}

/// How many samples the WAL in `walDirectory` holds, read in-process.
func sampleCount(walDirectory: String) throws -> Int {
    var reader = try EventReader(directory: walDirectory)
    var count = 0
    while let (_, event) = try reader.next() {
        if case .samples(let batch) = event { count += batch.count }
    }
    return count
}

/// Milliseconds since the epoch.
func wallClock() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// The value of the first sample of `name` in a text exposition.
func metric(_ exposition: String, _ name: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        return line.split(separator: " ").last.flatMap { Double($0) }
    }
    return nil
}

/// Lets a random number of milliseconds pass before a kill. This sleep is the chaos test's
/// workload, not a synchronization: it picks the moment within a scrape cycle the kill lands at,
/// and waits for nothing (the pacing itself polls for progress). `Task.sleep` holds no thread.
func randomMoment(milliseconds: Int) async throws {
    try await Task.sleep(for: .milliseconds(milliseconds))
}
