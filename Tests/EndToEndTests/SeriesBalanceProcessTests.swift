import Cluster
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// `clustering { balance = "series" }` with real processes: three members, twenty synthetic
    /// targets; two of them grow from 200 to 2,000 series while the agents run. Their owners
    /// measure it, publish the weights, and every member moves the targets at the same planned
    /// slot: series per member end within 10 % of the mean, and the receiver has exactly one `up`
    /// per slot of every target across the rebalance.
    @Suite(.serialized) struct SeriesBalanceProcessTests {
        static let members = ["agentd-1", "agentd-2", "agentd-3"]

        static func config(small: [Int], large: [Int], receiver: String) -> String {
            let targets = (large + small).enumerated().map { index, port in
                "\t\t{\"__address__\" = \"127.0.0.1:\(port)\", \"instance\" = \"t-\(index + 1)\"},"
            }.joined(separator: "\n")
            return """
                prometheus.scrape "balanced" {
                \ttargets = [
                \(targets)
                \t]
                \tforward_to      = [prometheus.remote_write.default.receiver]
                \tscrape_interval = "1s"
                \tscrape_timeout  = "800ms"

                \tclustering {
                \t\tenabled = true
                \t\tbalance = "series"
                \t}
                }

                \(Scenario.remoteWriteBlock(receiver))
                """
        }

        /// Each member's series by the weights an agent reports (nil until every target has one).
        static func loads(_ targets: [TargetJSON]) -> [String: UInt64]? {
            var loads: [String: UInt64] = [:]
            for target in targets {
                guard let owner = target.owner, let weight = target.weight else { return nil }
                loads[owner, default: 0] += weight
            }
            return loads
        }

        static func imbalance(_ loads: [String: UInt64]) -> Double {
            let total = loads.values.reduce(0, +)
            return total == 0 ? 0 : Double(loads.values.max()!) * Double(members.count) / Double(total)
        }

        /// Waits until every agent reports the same owners, every target's weight is at least
        /// `largest` for the large ones, and the series per member are within 10 % of the mean.
        static func settled(_ agents: [AgentProcess], large: Int, largest: UInt64) async -> [String: UInt64]? {
            var result: [String: UInt64]?
            _ = await waitUntil(within: .seconds(40)) {
                result = nil
                var views: [[TargetJSON]] = []
                for agent in agents {
                    guard let targets = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets,
                        targets.count == 20
                    else { return false }
                    views.append(targets.sorted { $0.key < $1.key })
                }
                let owners = views.map { $0.map(\.owner) }
                guard Set(owners.map { $0.map { $0 ?? "" } }).count == 1 else { return false }
                let heavy = views[0].filter { Int($0.labels["instance"]!.dropFirst(2))! <= large }
                guard heavy.allSatisfy({ ($0.weight ?? 0) >= largest }), let loads = Self.loads(views[0]),
                    loads.count == members.count, Self.imbalance(loads) <= 1.10
                else { return false }
                result = loads
                return true
            }
            return result
        }

        @Test(.timeLimit(.minutes(4))) func targetsThatGrowAreRebalancedAtAPlannedSlotWithNoGapOrDouble() async throws {
            let directory = TemporaryDirectory(#function)
            let small = try await SyntheticTargets(count: 18, series: 200, directory: directory.path)
            defer { small.process.stop(grace: .zero) }
            let large = try await SyntheticTargets(count: 2, series: 200, directory: directory.path)
            defer { large.process.stop(grace: .zero) }
            let receiver = try await PrometheusReceiver(directory: directory.sub("prometheus"))
            defer { receiver.process.stop() }
            let config = directory.sub("balanced.alloy")
            try Self.config(small: small.ports, large: large.ports, receiver: receiver.writeURL)
                .write(toFile: config, atomically: true, encoding: .utf8)

            let ports = Self.members.map { _ in freePort() }
            let agents = try Self.members.enumerated().map { index, name in
                try AgentProcess(
                    name: name, port: ports[index], config: config, storage: directory.sub("data-\(name)"),
                    join: ports.map { "127.0.0.1:\($0)" })
            }
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }

            // Every target at 200 series: the members agree on weights and share them evenly.
            let even = await Self.settled(agents, large: 2, largest: 200)
            #expect(even != nil, "the members did not agree on an even share of equal weights")
            let keys = Dictionary(
                uniqueKeysWithValues: (await agents[0].json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? [])
                    .map { ($0.labels["instance"]!, $0.key) })
            #expect(keys.count == 20)

            // Two targets grow tenfold.
            var lateBefore: [Double] = []
            for agent in agents {
                lateBefore.append(
                    metric(await agent.get("/metrics")?.body ?? "", "agentd_handoff_late_slots_total") ?? 0)
            }
            let from = Scenario.currentSlot() + 1
            #expect(await waitUntil(within: .seconds(10)) { Scenario.currentSlot() >= from + 2 })
            await large.stop()
            try await large.restart(series: 2_000)
            let balanced = await Self.settled(agents, large: 2, largest: 2_000)
            #expect(balanced != nil, "the members did not rebalance the grown targets")
            if let balanced {
                // What the ring (`balance = "targets"`) would give the same weights.
                let ring = HashRing(members: Self.members)
                var byRing: [String: UInt64] = [:]
                for (instance, key) in keys {
                    byRing[ring.owner(of: key)!, default: 0] += Int(instance.dropFirst(2))! <= 2 ? 2_000 : 200
                }
                print(
                    "series balance: per member \(balanced.sorted { $0.key < $1.key }), max/mean \(Self.imbalance(balanced)); by the ring \(byRing.sorted { $0.key < $1.key }), max/mean \(Self.imbalance(byRing))"
                )
            }
            let to = Scenario.currentSlot() + 3

            // The web UI shows each member's series under the share bar, from the weights.
            if let chromium = Chromium.binary, let balanced {
                let page = await Chromium.render(chromium, agents[0].url + "/")
                var shown: [String: UInt64] = [:]
                for span in page.elements(tag: "span", class: "rate") {
                    guard let member = span["data-member"], let series = span["data-series"] else { continue }
                    shown[member] = UInt64(series)
                }
                #expect(shown == balanced, "the UI's series per member")
            }

            // The rebalance is in every member's history with its cause.
            for agent in agents {
                let history = await agent.get("/api/v0/ownership-history")?.body ?? ""
                #expect(history.contains("\"rebalanced\""), "\(agent.name): no rebalance recorded")
                #expect(history.contains("over its bound") || history.contains("has room for it"))
                if agent.name == "agentd-1", let range = history.range(of: "rebalanced: ") {
                    print("series balance: \(history[range.lowerBound...].prefix(180))")
                }
            }

            // At the receiver: exactly one `up` per slot of every target, from before the growth
            // to after the rebalance.
            var missed: [String: [Int64]] = [:]
            var doubled: [String: [Int64]] = [:]
            let complete = await waitUntil(within: .seconds(30), every: .milliseconds(500)) {
                missed = [:]
                doubled = [:]
                for (instance, key) in keys {
                    let samples = await receiver.rawSamples("up{instance=\"\(instance)\"}[10m]")
                    var perSlot: [Int64: Int] = [:]
                    for (_, values) in samples {
                        for (timestamp, _) in values {
                            let slot = Scenario.slot(of: timestamp, key: key)
                            if slot >= from && slot <= to { perSlot[slot, default: 0] += 1 }
                        }
                    }
                    let gaps = (from...to).filter { perSlot[$0] == nil }
                    if !gaps.isEmpty { missed[instance] = gaps }
                    let twice = perSlot.filter { $0.value > 1 }.keys.sorted()
                    if !twice.isEmpty { doubled[instance] = twice }
                }
                return missed.isEmpty
            }
            #expect(complete && missed.isEmpty, "slots missed: \(missed)")
            #expect(doubled.isEmpty, "slots scraped twice: \(doubled)")
            for (index, agent) in agents.enumerated() {
                let late = metric(await agent.get("/metrics")?.body ?? "", "agentd_handoff_late_slots_total") ?? 0
                #expect(late == lateBefore[index], "\(agent.name): slots handed off late during the rebalance")
            }
        }
    }
}
