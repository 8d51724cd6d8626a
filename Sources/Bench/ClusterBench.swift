import Cluster
import Primitives

/// Prints the cluster figures: failure detection, dissemination, message cost, ring balance,
/// moved fractions and lookup time. Arguments: `--quick` runs fewer seeds.
func runClusterBenchmark(arguments: [String]) {
    let quick = arguments.contains("--quick")
    print("== cluster (simulated: 10% loss, 1–5 ms one-way delay, default settings) ==")
    for size in [3, 10, 100] {
        benchmarkDetection(size: size, runs: quick ? 5 : (size == 100 ? 20 : 100))
    }
    benchmarkFalsePositives(size: 10, minutes: quick ? 1 : 10)
    benchmarkDissemination(size: 1000)
    for size in [10, 100] { benchmarkTraffic(size: size) }
    benchmarkRing()
    benchmarkLookup()
}

private func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

private func format(_ value: Double, _ digits: Int = 2) -> String {
    let scale = pow10(digits)
    return String(Double((value * scale).rounded()) / scale)
}

private func pow10(_ digits: Int) -> Double { (0..<digits).reduce(1.0) { value, _ in value * 10 } }

/// Kills one member after a warm-up and measures how long until the first member and until
/// every member declares it dead; counts false positives (any other member declared dead).
private func benchmarkDetection(size: Int, runs: Int) {
    var first: [Double] = []
    var everyone: [Double] = []
    var falsePositives = 0
    for seed in 1...runs {
        let simulator = ClusterSimulator(size: size, seed: UInt64(seed))
        let victim = size - 1
        let victimName = ClusterSimulator.name(of: victim)
        var firstDeclared: ClusterTime?
        var killedAt = ClusterTime.zero
        simulator.onChange = { _, change in
            guard change.kind == .declaredDead else { return }
            if change.member.name == victimName {
                if firstDeclared == nil { firstDeclared = simulator.now }
            } else {
                falsePositives += 1
            }
        }
        // Kill at a seed-dependent point inside the probe period.
        simulator.run(for: .seconds(5) + .milliseconds(37 * seed % 500))
        killedAt = simulator.now
        simulator.kill(victim)
        let allKnow = simulator.run(
            until: { sim in sim.running.allSatisfy { sim.liveness(of: victim, seenBy: $0) == .dead } },
            step: .milliseconds(10),
            limit: .seconds(60)
        )
        guard allKnow, let firstDeclared else { continue }
        first.append((firstDeclared - killedAt).seconds)
        everyone.append((simulator.now - killedAt).seconds)
    }
    print(
        "detect dead, N=\(size) (\(runs) runs): first declared median \(format(percentile(first, 0.5)))s"
            + " p90 \(format(percentile(first, 0.9)))s p99 \(format(percentile(first, 0.99)))s;"
            + " all members median \(format(percentile(everyone, 0.5)))s p99 \(format(percentile(everyone, 0.99)))s;"
            + " false positives \(falsePositives)"
    )
}

/// Runs a healthy cluster with one slow member (300 ms late on everything it receives) and
/// counts deaths declared: any is a false positive.
private func benchmarkFalsePositives(size: Int, minutes: Int) {
    let simulator = ClusterSimulator(size: size, seed: 77)
    simulator.setSlowness(.milliseconds(300), of: 1)
    var suspicions = 0
    var deaths = 0
    simulator.onChange = { _, change in
        if change.kind == .suspected { suspicions += 1 }
        if change.kind == .declaredDead { deaths += 1 }
    }
    simulator.run(for: .seconds(60 * minutes))
    print(
        "false positives, N=\(size), one member 300 ms slow, \(minutes) min: \(deaths) deaths declared"
            + " (\(suspicions) suspicion observations, each refuted or a death)"
    )
}

/// A member announces a role change; measures how long until 50%, 99%, 99.9% and all of the
/// others have heard of it.
private func benchmarkDissemination(size: Int) {
    let clock = ContinuousClock()
    let started = clock.now
    let simulator = ClusterSimulator(size: size, seed: 7)
    simulator.run(for: .seconds(3))
    let announcer = 0
    let name = ClusterSimulator.name(of: announcer)
    var heard: [Double] = []
    var seen = Set<Int>()
    let announcedAt = simulator.now
    simulator.onChange = { observer, change in
        guard change.member.name == name, case .roleChanged(let role) = change.kind, role.role == .terminating,
            observer != announcer, seen.insert(observer).inserted
        else { return }
        heard.append((simulator.now - announcedAt).seconds)
    }
    simulator.leave(announcer)
    simulator.run(until: { _ in seen.count == size - 1 }, step: .milliseconds(20), limit: .seconds(30))
    heard.sort()
    let others = Double(size - 1)
    func time(_ fraction: Double) -> String {
        let needed = Int((fraction * others).rounded(.up))
        return needed <= heard.count ? format(heard[needed - 1]) + "s" : "never"
    }
    print(
        "dissemination, N=\(size): 50% \(time(0.5)), 99% \(time(0.99)), 99.9% \(time(0.999)), 100% \(time(1.0))"
            + " (simulated in \(format((clock.now - started).seconds))s)"
    )
}

/// Steady-state cost: messages and bytes sent per member per second.
private func benchmarkTraffic(size: Int) {
    let simulator = ClusterSimulator(size: size, seed: 3)
    simulator.run(for: .seconds(10))
    let messages = simulator.messagesSent
    let bytes = simulator.bytesSent
    let window = 60.0
    simulator.run(for: .seconds(60))
    let perMessage = Double(simulator.messagesSent - messages) / window / Double(size)
    let perByte = Double(simulator.bytesSent - bytes) / window / Double(size)
    print("traffic, N=\(size): \(format(perMessage, 1)) messages and \(format(perByte, 0)) bytes per member per second")
}

private func benchmarkRing() {
    var random = SplitMix64(seed: 42)
    let keys = (0..<10_000).map { _ in random.next() }
    print("ring, 10,000 targets, 512 tokens per member:")
    for size in [2, 3, 5, 10, 20, 50, 100] {
        let names = (0..<size).map { "agentd-\($0)" }
        let ring = HashRing(members: names)
        var load: [String: Int] = [:]
        for key in keys { load[ring.owner(of: key)!, default: 0] += 1 }
        let mean = Double(keys.count) / Double(size)
        let maximum = Double(load.values.max()!) / mean
        let minimum = Double(names.map { load[$0] ?? 0 }.min()!) / mean
        var share: [String: Int] = [:]
        var sampler = SplitMix64(seed: 1)
        for _ in 0..<1_000_000 { share[ring.owner(of: sampler.next())!, default: 0] += 1 }
        let shareMean = 1_000_000.0 / Double(size)
        let shareMax = Double(share.values.max()!) / shareMean
        let shareMin = Double(names.map { share[$0] ?? 0 }.min()!) / shareMean
        let joined = HashRing(members: names + ["agentd-\(size)"])
        let left = HashRing(members: names.dropLast())
        let movedJoin = Double(keys.count { ring.owner(of: $0) != joined.owner(of: $0) }) / Double(keys.count)
        let movedLeave = Double(keys.count { ring.owner(of: $0) != left.owner(of: $0) }) / Double(keys.count)
        print(
            "  N=\(size): key-space share max/mean \(format(shareMax, 3)) min/mean \(format(shareMin, 3));"
                + " targets max/mean \(format(maximum, 3)) min/mean \(format(minimum, 3));"
                + " moved on join \(format(movedJoin, 4)) (ideal \(format(1 / Double(size + 1), 4)));"
                + " on leave \(format(movedLeave, 4)) (ideal \(format(1 / Double(size), 4)))"
        )
    }
}

private func benchmarkLookup() {
    var random = SplitMix64(seed: 9)
    let keys = (0..<1_000_000).map { _ in random.next() }
    let clock = ContinuousClock()
    for size in [10, 100] {
        let ring = HashRing(members: (0..<size).map { "agentd-\($0)" })
        var checksum = 0
        let start = clock.now
        for key in keys { checksum &+= ring.owner(of: key)!.utf8.count }
        let elapsed = (clock.now - start).seconds
        let buildStart = clock.now
        _ = HashRing(members: (0..<size).map { "agentd-\($0)" })
        let build = (clock.now - buildStart).seconds
        print(
            "ring lookup, N=\(size): \(format(elapsed / Double(keys.count) * 1e9, 1)) ns per lookup;"
                + " build \(format(build * 1e3, 2)) ms (checksum \(checksum))"
        )
    }
}
