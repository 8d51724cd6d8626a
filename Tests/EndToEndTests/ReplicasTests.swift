import Cluster
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `clustering { replicas = 2 }` with real processes: two members scrape every slot of every
    /// target, stamping the slot's nominal time, so Prometheus keeps one sample per slot; a
    /// SIGKILLed member then costs no slot at all, and what the receiver refuses is the twins.
    @Suite(.serialized) struct ReplicasTests {
        static let exporters = 6

        /// The seed scenario's config with two replicas and without the `scraped_by` label, so
        /// that the replicas' samples are the same series.
        static func config(exporters: [Int], receiver: String) -> String {
            Scenario.configText(exporters: exporters, receiver: receiver)
                .replacingOccurrences(of: "\t\tenabled = true\n", with: "\t\tenabled  = true\n\t\treplicas = 2\n")
                .replacingOccurrences(
                    of: "\texternal_labels = {\n\t\tscraped_by = constants.node_name,\n\t}\n", with: "")
        }

        @Test(.timeLimit(.minutes(4))) func aKilledReplicaCostsNoSlotAndOnlyTwinsAreRefused() async throws {
            let members = ["agentd-1", "agentd-2", "agentd-3"]
            // The receiver accepts samples up to 10 minutes out of order: the survivor's samples of
            // the slots between the kill and the death may arrive after the new replica's first
            // (docs/cluster.md, *Replicated scraping*).
            let scenario = try await Scenario(
                exporters: Self.exporters, members: members,
                receiverConfiguration: PrometheusReceiver.receiverOnly
                    + "storage:\n  tsdb:\n    out_of_order_time_window: 10m\n")
            defer { scenario.stop() }
            let text = Self.config(exporters: scenario.exporters.map(\.1), receiver: scenario.receiver.writeURL)
            #expect(text.contains("replicas = 2") && !text.contains("scraped_by"))
            let config = scenario.directory.sub("replicas.alloy")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let ring = HashRing(members: members)
            let expected = Dictionary(
                uniqueKeysWithValues: (1...Self.exporters).map {
                    (Scenario.instance($0), ring.owners(of: scenario.key($0), count: 2).joined(separator: ","))
                })

            let agents = try scenario.startMembers(members, config: config)
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }
            var views: [[String: String]] = []
            let agreed = await waitUntil(within: .seconds(20)) {
                views = []
                for agent in agents { views.append(await ownersByInstance(agent)) }
                return views.allSatisfy { $0 == expected }
            }
            #expect(agreed, "views \(views), expected \(expected)")

            // SIGKILL agentd-2 a few slots in; the window runs until the survivors have taken its
            // replicas over and a few slots more.
            let from = Scenario.currentSlot() + 1
            #expect(await waitUntil(within: .seconds(10)) { Scenario.currentSlot() >= from + 3 })
            await agents[1].process.kill9()
            let survivors = [agents[0], agents[2]]
            #expect(
                await waitUntil(within: .seconds(15)) {
                    for agent in survivors
                    where await ownersByInstance(agent).values.contains(where: { $0.contains("agentd-2") }) {
                        return false
                    }
                    return true
                })
            let to = Scenario.currentSlot() + 3
            let late = await scenario.late(after: to) { scenario.key($0) }
            #expect(late.isEmpty, "no sample after slot \(to) of \(late)")

            // Every slot of every target has its sample, at the slot's nominal time: no gap where
            // agentd-2 held a replica, and the twins were one sample.
            for index in 1...Self.exporters {
                let instance = Scenario.instance(index)
                let phase = Int64(scenario.key(index) % 1_000_000_000) / 1_000_000
                var slots: Set<Int64> = []
                for sample in await scenario.upSamples(index) {
                    let slot = Scenario.slot(of: sample.timestamp, key: scenario.key(index))
                    guard slot >= from && slot <= to else { continue }
                    slots.insert(slot)
                    #expect(sample.timestamp % 1000 == phase, "\(instance): \(sample.timestamp) is not on a slot")
                }
                let missed = (from...to).filter { !slots.contains($0) }
                #expect(missed.isEmpty, "\(instance) (owners \(expected[instance]!)): slots missed \(missed)")
            }

            // What the receiver refused is twins, each alone: the same series and timestamp with
            // another value (`duplicate`), or, when the other replica's next slot got there first,
            // `out_of_order`. Nothing was refused for another reason, nothing failed.
            var twins = 0.0
            for agent in survivors {
                let text = await httpGet(agent.url + "/metrics")?.body ?? ""
                let refusals = text.split(separator: "\n").filter {
                    $0.hasPrefix("agentd_remote_storage_samples_refused_total{") && !$0.hasSuffix(" 0")
                }
                #expect(
                    refusals.allSatisfy {
                        $0.contains("reason=\"duplicate\"") || $0.contains("reason=\"out_of_order\"")
                    }, "\(refusals)")
                twins += refusals.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                #expect(
                    (metric(text, "prometheus_remote_storage_samples_failed_total") ?? 0) == 0,
                    "\(agent.name): samples failed")
            }
            print("replicas: \(Int(twins)) twin samples refused by the receiver")
        }
    }
}
