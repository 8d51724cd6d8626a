import Foundation

/// Tuning of the gossip membership. The defaults are chosen for agentd's goal: a crashed
/// member's targets taken over in under 3 seconds for N ≤ 10 on a LAN, with no false positive
/// when a member is slow or under load.
///
/// The time to declare a crashed member dead is about
/// `time until someone probes it + one probe period + suspicion timeout`, then a gossip round to
/// spread it. hashicorp/memberlist's LAN defaults (probe interval 1 s, timeout 500 ms, suspicion
/// multiplier 4, so a 4 s minimum suspicion for N ≤ 10) give 5–6 s; grafana/ckit (5 s probes)
/// 20 s or more. agentd probes faster and suspects shorter, and makes refutation fast instead:
///
/// - `probeInterval` 400 ms, `probeTimeout` 200 ms: a LAN round trip is well under a millisecond,
///   so 200 ms is a generous wait for a direct ack even on a loaded host, and an ack that arrives
///   late still counts until the end of the probe period. Members probe in a shuffled round robin;
///   with 9 probers a crashed member is probed within about 1.6 s in 99% of cases (the dominant
///   term of the tail: 500 ms probes gave a p99 of 3.8 s).
/// - `indirectProbes` 3 (memberlist's): a lost packet or one bad path alone causes no suspicion.
/// - `suspicionMultiplier` 2 with `minimumSuspicionTimeout` 1 s: a suspicion lasts at least
///   `max(1 s, 2 · max(1, log10 N) · 400 ms)` = 1 s for N ≤ 10 (1.6 s for 100, 2.4 s for 1,000).
///   A suspected member that is merely slow hears of it at once — the suspector sends it the
///   suspicion directly and puts it first in every later ping (Lifeguard's buddy system) — and its
///   refutation is sent straight back to its accusers; a member still spreading an already refuted
///   suspicion is answered with the newer record. A refutation thus takes a round trip (plus the
///   member's own delay), not a gossip epidemic.
/// - Lifeguard's dynamic suspicion: the timeout starts at `suspicionMaxTimeoutMultiplier` (2)
///   times the minimum and shrinks to the minimum once `expectedConfirmations` (1) other member
///   independently suspects the same member (memberlist derives this count as multiplier − 2, which
///   would be 0 here; it is kept separate so that a lone suspicion — one member with a bad link —
///   waits longer). With fewer than `expectedConfirmations + 2` members none is awaited.
/// - Lifeguard's local health (`awarenessMaxMultiplier` 8): a member that misses nacks (relays
///   send them at 80% of the probe timeout) or has to refute suspicions stretches its own probe
///   interval and timeout by up to 8×, so an overloaded member neither floods probes nor suspects
///   others for its own slowness.
/// - `retransmitMultiplier` 4, `gossipInterval` 200 ms to `gossipNodes` 3 (memberlist's LAN
///   values): an update is sent `4 · ceil(log10(N + 1))` times.
///
/// Measured in the simulator (10% loss, 1–5 ms delays; `bash scripts/bench.sh cluster`), a
/// dead member is known to all of 10 members after 1.8 s (median), 2.8 s (p99); a member 300 ms
/// slow on every message is never declared dead in 10 simulated minutes. See `docs/cluster.md`.
public struct MembershipSettings: Sendable, Hashable {
    public var probeInterval: Duration = .milliseconds(400)
    public var probeTimeout: Duration = .milliseconds(200)
    public var indirectProbes: Int = 3
    public var suspicionMultiplier: Int = 2
    public var suspicionMaxTimeoutMultiplier: Int = 2
    public var expectedConfirmations: Int = 1
    public var minimumSuspicionTimeout: Duration = .seconds(1)
    public var awarenessMaxMultiplier: Int = 8
    public var retransmitMultiplier: Int = 4
    public var gossipInterval: Duration = .milliseconds(200)
    public var gossipNodes: Int = 3
    /// How long dead members still receive gossip, so that a falsely declared member can refute.
    public var gossipToTheDeadTime: Duration = .seconds(30)
    /// How long a dead or departed member is remembered before it is forgotten (memberlist's
    /// idea behind `GossipToTheDeadTime`): it leaves the peer list, the UI and the metrics, while
    /// the WAL and `ownership-history` keep it. Partitions longer than this heal through the
    /// periodic rejoin of the join addresses, not through reconnection to the forgotten member.
    public var deadMemberRetention: Duration = .seconds(300)
    /// Full-state exchange with a random member (scaled up above 32 members, as memberlist).
    public var pushPullInterval: Duration = .seconds(30)
    /// How often a push-pull is tried with a random dead member, so partitions heal (serf's reconnect).
    public var reconnectInterval: Duration = .seconds(30)
    /// The piggyback budget of one message, in bytes.
    public var maximumGossipBytes: Int = 1400
    /// Messages whose timestamp is further than this from the local clock are rejected.
    public var maximumClockSkew: Duration = .seconds(30)
    /// Role-history entries kept per member.
    public var historyLimit: Int = 8
    /// Effective times of planned joins and leaves.
    public var handoff: HandoffPlanner = HandoffPlanner()

    public init() {}

    /// How many times an update is piggybacked: `retransmitMultiplier · ceil(log10(N + 1))`.
    public func retransmitLimit(clusterSize: Int) -> Int {
        self.retransmitMultiplier * Int(log10(Double(clusterSize + 1)).rounded(.up))
    }

    /// The suspicion timeout once enough confirmations arrived, before local-health scaling.
    public func suspicionTimeout(clusterSize: Int) -> Duration {
        let scaled = self.probeInterval.scaled(
            by: Double(self.suspicionMultiplier) * max(1, log10(Double(max(clusterSize, 1))))
        )
        return max(scaled, self.minimumSuspicionTimeout)
    }

    /// The push-pull interval for a cluster of `clusterSize` members.
    public func pushPullInterval(clusterSize: Int) -> Duration {
        guard clusterSize > 32 else { return self.pushPullInterval }
        let factor = (log2(Double(clusterSize)) - log2(32)).rounded(.up) + 1
        return self.pushPullInterval.scaled(by: factor)
    }
}
