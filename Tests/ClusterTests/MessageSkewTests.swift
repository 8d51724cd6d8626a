import Testing

@testable import Cluster

/// A peer's sent time is checked against the local clock; no value of it may trap.
@Suite struct MessageSkewTests {
    /// A sent time 2^63 ns (292 years) away from the receiver's clock, which any peer that knows
    /// the time to a second can send: the skew came out as Int64.min and `abs` trapped, taking
    /// the agent down with one unauthenticated message. (Seen while writing `fuzz-gossip`.)
    @Test(arguments: [Int64.min, Int64.min + 999_999_999, Int64.max, -31_000_000_000, 31_000_000_000])
    func aSentTimeFarFromNowIsRejectedAsStale(offset: Int64) throws {
        let codec = MessageCodec(clusterName: "prod")
        let now = ClusterTime(seconds: 1_800_000_000)
        var membership = Membership(
            node: Node(name: "agentd-1", address: "127.0.0.1:12345"), codec: codec, now: now, seed: 1)
        let message = Message(
            sender: Node(name: "agentd-2", address: "127.0.0.1:12346"), sequence: 1,
            sentAt: ClusterTime(nanoseconds: now.nanoseconds &+ offset), body: .ack(probe: 1))
        #expect {
            _ = try membership.receive(codec.encode(message), now: now)
        } throws: { error in
            guard case .stale = error as? MessageRejection else { return false }
            return true
        }
    }
}
