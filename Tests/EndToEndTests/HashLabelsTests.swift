import Cluster
import Events
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `clustering { hash_labels = [...] }` with real processes: two members whose discovery hands
    /// each of them a different label for the same target (alloy#6484's signed URLs) agree on
    /// every target's owner, and the receiver gets exactly one scrape per slot.
    @Suite(.serialized) struct HashLabelsTests {
        static let exporters = 6

        /// The owner key both members compute: the `instance` label alone.
        static func ownerKey(_ index: Int) -> UInt64 {
            TargetKey.of(Labels(["instance": Scenario.instance(index)]), only: ["instance"])
        }

        /// The seed scenario's config, with a relabel rule that gives every member its own
        /// `__param_sig` (a label in the target's key and its URL) and the owner hashed from
        /// `instance`.
        static func config(exporters: [Int], receiver: String) -> String {
            let text = Scenario.configText(exporters: exporters, receiver: receiver)
            return text.replacingOccurrences(
                of: "\t\tenabled = true\n", with: "\t\tenabled     = true\n\t\thash_labels = [\"instance\"]\n"
            ).replacingOccurrences(
                of: "\trule {\n\t\ttarget_label = \"job\"",
                with: "\trule {\n\t\ttarget_label = \"__param_sig\"\n\t\treplacement  = constants.node_name\n\t}\n\n"
                    + "\trule {\n\t\ttarget_label = \"job\"")
        }

        @Test(.timeLimit(.minutes(4))) func membersWithDifferentVolatileLabelsAgreeOnOwnersAndScrapeEachSlotOnce()
            async throws
        {
            let members = ["agentd-1", "agentd-2"]
            let ring = HashRing(members: members)
            let expected = Dictionary(
                uniqueKeysWithValues: (1...Self.exporters).map {
                    (Scenario.instance($0), ring.owner(of: Self.ownerKey($0))!)
                })
            try #require(Set(expected.values) == Set(members), "each member owns one of the targets: \(expected)")
            let scenario = try await Scenario(exporters: Self.exporters, members: members)
            defer { scenario.stop() }
            let text = Self.config(exporters: scenario.exporters.map(\.1), receiver: scenario.receiver.writeURL)
            #expect(text.contains("hash_labels") && text.contains("__param_sig"))
            let config = scenario.directory.sub("hash-labels.alloy")
            try text.write(toFile: config, atomically: true, encoding: .utf8)

            let agents = try scenario.startMembers(members, config: config)
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }

            // Each member's targets carry its own signature, so their keys differ; the owners agree.
            var views: [[TargetJSON]] = []
            let agreed = await waitUntil(within: .seconds(20)) {
                views = []
                for agent in agents {
                    views.append(await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? [])
                }
                return views.allSatisfy { ownersByInstance($0) == expected }
            }
            #expect(agreed, "views: \(views.map { $0.map { ($0.labels["instance"] ?? "", $0.owner ?? "-") } })")
            let signatures = views.map { Set($0.compactMap { $0.discoveredLabels["__param_sig"] }) }
            #expect(signatures == [["agentd-1"], ["agentd-2"]])
            #expect(Set(views[0].map(\.key)).isDisjoint(with: views[1].map(\.key)))

            // At the receiver: every slot of every target scraped exactly once, by its owner.
            let now = Scenario.currentSlot()
            let (from, to) = (now + 1, now + 8)
            let late = await scenario.late(after: to) { Self.ownerKey($0) }
            #expect(late.isEmpty, "no sample after slot \(to) of \(late)")
            for index in 1...Self.exporters {
                let instance = Scenario.instance(index)
                var counts: [Int64: Int] = [:]
                var scrapers: Set<String> = []
                for sample in await scenario.upSamples(index) {
                    let slot = Scenario.slot(of: sample.timestamp, key: Self.ownerKey(index))
                    guard slot >= from && slot <= to else { continue }
                    counts[slot, default: 0] += 1
                    scrapers.insert(sample.scrapedBy)
                }
                #expect(counts.filter { $0.value > 1 }.isEmpty, "\(instance): slots scraped twice: \(counts)")
                #expect((from...to).allSatisfy { counts[$0] != nil }, "\(instance): slots missed: \(counts)")
                #expect(scrapers == [expected[instance]!], "\(instance) scraped by \(scrapers)")
            }
        }
    }
}
