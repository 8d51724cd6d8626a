import Cluster
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The seed scenario end to end, with real node exporters, a real Prometheus
    /// receiver and two real agentd processes: hand-offs with no gap and no
    /// duplicate, a crash taken over within the detection time, the history that
    /// explains every move, and every appended sample delivered.
    @Suite(.serialized) struct ScenarioTests {
        /// Checks that between slots `from` and `to` (inclusive) every slot of exporter `index` has exactly one `up`.
        private func expectOneSamplePerSlot(
            _ scenario: Scenario, _ index: Int, from: Int64, to: Int64, allowGap: Int64 = 0,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async {
            let key = scenario.key(index)
            var counts: [Int64: Int] = [:]
            for sample in await scenario.upSamples(index) {
                counts[Scenario.slot(of: sample.timestamp, key: key), default: 0] += 1
            }
            let duplicates = counts.filter { $0.key >= from && $0.key <= to && $0.value > 1 }.keys.sorted()
            #expect(
                duplicates.isEmpty, "\(Scenario.instance(index)): slots scraped twice: \(duplicates)",
                sourceLocation: sourceLocation)
            let missing = (from...to).filter { counts[$0] == nil }
            #expect(
                missing.count <= Int(allowGap),
                "\(Scenario.instance(index)): \(missing.count) slots missed: \(missing)",
                sourceLocation: sourceLocation)
        }

        /// Waits until Prometheus holds an `up` sample of every exporter from slot `slot` on (scraped
        /// by `member` when given): the slots before it have been scraped and delivered.
        private func waitForDelivery(
            _ scenario: Scenario, through slot: Int64, by member: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async {
            var late: [String] = []
            let delivered = await waitUntil(within: .seconds(30), every: .milliseconds(250)) {
                late = []
                for index in 1...scenario.exporters.count {
                    let samples = await scenario.upSamples(index)
                    if !samples.contains(where: {
                        Scenario.slot(of: $0.timestamp, key: scenario.key(index)) >= slot
                            && (member == nil || $0.scrapedBy == member)
                    }) {
                        late.append(Scenario.instance(index))
                    }
                }
                return late.isEmpty
            }
            #expect(
                delivered, "no sample from slot \(slot)\(member.map { " by \($0)" } ?? "") of \(late)",
                sourceLocation: sourceLocation)
        }

        @Test(.timeLimit(.minutes(6))) func twoAgentsShareEightExportersAndHandOffWithoutGapOrDuplicate() async throws {
            let members = ["agentd-1", "agentd-2"]
            let scenario = try await Scenario(exporters: 8, members: members)
            defer { scenario.stop() }
            let ports = [freePort(), freePort()]
            let join = ports.map { "127.0.0.1:\($0)" }
            let agents = try members.enumerated().map { index, name in
                try AgentProcess(
                    name: name, port: ports[index], config: scenario.config,
                    storage: scenario.directory.sub("data-\(name)"), join: join)
            }
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }

            // 1. Both members are participants, and the split is the ring's.
            let ring = HashRing(members: members)
            let expected = Dictionary(
                uniqueKeysWithValues: (1...8).map { (Scenario.instance($0), ring.owner(of: scenario.key($0))!) })
            let agreed = await waitUntil(within: .seconds(20)) {
                for agent in agents {
                    guard await ownersByInstance(agent) == expected else { return false }
                    let peers = await agent.json("/api/v0/web/peers", as: [PeerJSON].self) ?? []
                    guard peers.filter({ $0.state == "participant" }).count == 2 else { return false }
                }
                return true
            }
            var agreedOwners: [[String: String]] = []
            for agent in agents { agreedOwners.append(await ownersByInstance(agent)) }
            #expect(agreed, "owners: \(agreedOwners), expected \(expected)")
            #expect(Set(expected.values) == Set(members))
            // Checked from the slot after the one in which they agreed, once its samples are in.
            let start = Scenario.currentSlot() + 1
            await waitForDelivery(scenario, through: start + 2)

            // 2. SIGTERM agentd-1: agentd-2 scrapes all eight from the hand-off slot; no gap, no duplicate.
            let status = await agents[0].process.terminate(grace: .seconds(20))
            #expect(status == 0, "agentd-1 exit status \(status): \(agents[0].process.log.suffix(2000))")
            #expect(
                await waitUntil(within: .seconds(10)) {
                    await ownersByInstance(agents[1]).values.allSatisfy { $0 == "agentd-2" }
                })
            let afterLeave = Scenario.currentSlot() + 2
            await waitForDelivery(scenario, through: afterLeave, by: "agentd-2")
            for index in 1...8 { await expectOneSamplePerSlot(scenario, index, from: start, to: afterLeave) }
            for index in 1...8 {
                let last = await scenario.upSamples(index).last
                #expect(
                    last?.scrapedBy == "agentd-2",
                    "\(Scenario.instance(index)) last scraped by \(last?.scrapedBy ?? "nobody")")
            }
            // The survivor's /metrics: it owns all eight, and counted the hand-offs the leave caused.
            let survivorMetrics = await httpGet(agents[1].url + "/metrics")?.body ?? ""
            #expect(metric(survivorMetrics, "agentd_targets_owned{member=\"agentd-2\"}") == 8, "\(survivorMetrics)")
            #expect(metric(survivorMetrics, "agentd_targets_owned{member=\"agentd-1\"}") == nil)
            let leftCount = Double(expected.values.filter { $0 == "agentd-1" }.count)
            #expect(
                (metric(survivorMetrics, "agentd_ownership_changes_total{cause=\"member_left\"}") ?? 0) >= leftCount)
            // Ownership is data in Prometheus too: each target's agentd_target_owner series now names
            // agentd-2 alone (agentd-1's went stale at its hand-off slots), and agentd-1's series of the
            // targets it owned hold its samples from before.
            let owned = await scenario.receiver.instantQuery("agentd_target_owner")
            let ownerByInstance = Dictionary(owned.map { ($0["instance"] ?? "", $0["owner"] ?? "") }) { $0 + "," + $1 }
            #expect(
                ownerByInstance
                    == Dictionary(uniqueKeysWithValues: (1...8).map { (Scenario.instance($0), "agentd-2") }),
                "\(owned)")
            let before = await scenario.receiver.rawSamples("agentd_target_owner{owner=\"agentd-1\"}[10m]")
            #expect(
                Set(before.compactMap { $0.0["instance"] })
                    == Set(expected.filter { $0.value == "agentd-1" }.keys), "\(before.map(\.0))")

            // 3. ownership-history on agentd-2 names the leave, at the slot the samples switched.
            let (code, output) = try await AgentProcess.run([
                "ownership-history", "--storage.path=\(agents[1].storage)", "--member=agentd-1", "--format=json",
            ])
            #expect(code == 0, "\(output)")
            let history = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
            for index in 1...8 where expected[Scenario.instance(index)] == "agentd-1" {
                let leave = history.first {
                    $0["target"] as? String == Scenario.instance(index) && $0["cause"] as? String == "member_left"
                }
                #expect(
                    leave?["detail"] as? String == "agentd-1 left gracefully", "\(Scenario.instance(index)): \(history)"
                )
                let effective = leave?["effectiveMs"] as? Int64 ?? 0
                let samples = await scenario.upSamples(index)
                let firstBySurvivor = samples.first { $0.scrapedBy == "agentd-2" && $0.timestamp >= effective - 500 }
                let lastByLeaver = samples.last { $0.scrapedBy == "agentd-1" }
                #expect(
                    Scenario.slot(of: firstBySurvivor?.timestamp ?? 0, key: scenario.key(index))
                        == Scenario.slot(of: effective, key: scenario.key(index)),
                    "\(Scenario.instance(index)): effective \(effective), first agentd-2 sample \(firstBySurvivor?.timestamp ?? 0)"
                )
                #expect((lastByLeaver?.timestamp ?? .max) < effective)
            }

            // 4. Restart agentd-1: it rejoins and gets its share back, again with no gap and no duplicate.
            try agents[0].restart()
            try await agents[0].waitUntilReady()
            var rejoinedOwners: [[String: String]] = []
            let rejoined = await waitUntil(within: .seconds(20)) {
                rejoinedOwners = []
                for agent in agents { rejoinedOwners.append(await ownersByInstance(agent)) }
                return rejoinedOwners.allSatisfy { $0 == expected }
            }
            #expect(rejoined, "\(rejoinedOwners)")
            let afterRejoin = Scenario.currentSlot() + 2
            await waitForDelivery(scenario, through: afterRejoin)
            for index in 1...8 { await expectOneSamplePerSlot(scenario, index, from: start, to: afterRejoin) }

            // 5. SIGKILL agentd-1: agentd-2 declares it dead and takes over; the gap is at most the detection time.
            let killedAt = Scenario.currentSlot()
            await agents[0].process.kill9()
            #expect(
                await waitUntil(within: .seconds(15)) {
                    await ownersByInstance(agents[1]).values.allSatisfy { $0 == "agentd-2" }
                })
            let afterKill = Scenario.currentSlot() + 1
            await waitForDelivery(scenario, through: afterKill, by: "agentd-2")
            for index in 1...8 {
                // Detection takes about 2 s (docs/cluster.md); allow 4 missed slots at 1 s.
                await expectOneSamplePerSlot(scenario, index, from: killedAt - 2, to: afterKill, allowGap: 4)
            }
            let (_, deadOutput) = try await AgentProcess.run([
                "ownership-history", "--storage.path=\(agents[1].storage)", "--member=agentd-1",
            ])
            #expect(deadOutput.contains("agentd-1 declared dead"), "\(deadOutput)")

            // 6. Restart agentd-1 once more so it forwards what it appended before the kill; then every
            //    `up` sample in either WAL is in Prometheus.
            try agents[0].restart()
            let restartedAt = Double(Date().timeIntervalSince1970)
            try await agents[0].waitUntilReady()
            // Each agent has sent everything appended up to the restart: its queue has gone past it
            // and holds nothing.
            var queues: [String] = []
            let caughtUp = await waitUntil(within: .seconds(30), every: .milliseconds(250)) {
                queues = []
                for agent in agents {
                    let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
                    let pending = metric(metrics, "prometheus_remote_storage_samples_pending")
                    let sent = metric(metrics, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")
                    if pending != 0 || (sent ?? 0) < restartedAt {
                        queues.append("\(agent.name): \(pending ?? -1) pending, newest sent \(sent ?? 0)")
                    }
                }
                return queues.isEmpty
            }
            #expect(caughtUp, "not caught up since \(restartedAt): \(queues)")
            for agent in agents {
                await agent.process.terminate(grace: .seconds(20))
                let wal = try walSamples(agent.storage)
                #expect(!wal.isEmpty)
                for (instance, timestamps) in wal {
                    guard let index = (1...8).first(where: { Scenario.instance($0) == instance }) else { continue }
                    let received = Set(await scenario.upSamples(index).map(\.timestamp))
                    let lost = timestamps.subtracting(received)
                    #expect(
                        lost.isEmpty, "\(agent.name): \(lost.count) up samples of \(instance) never reached Prometheus")
                }
            }
        }
    }
}
