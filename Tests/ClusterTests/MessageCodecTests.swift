import Primitives
import Testing

@testable import Cluster

@Suite struct MessageCodecTests {
    static let member = Member(
        node: Node(name: "agentd-2", address: "127.0.0.1:12346"),
        incarnation: 7,
        liveness: .suspect,
        reporters: ["agentd-1", "agentd-3"],
        history: [
            StateChange(role: .viewer, lamport: 1, effective: ClusterTime(seconds: 100)),
            StateChange(role: .participant, lamport: 4, effective: ClusterTime(seconds: 102)),
        ]
    )

    static let bodies: [Message.Body] = [
        .ping(probe: 1, target: "agentd-2"),
        .ack(probe: 2),
        .nack(probe: 3),
        .pingRequest(probe: 4, target: Node(name: "agentd-3", address: "127.0.0.1:3")),
        .pushPull(members: [member, member], join: true, reply: false),
        .pushPull(members: [], join: false, reply: true),
        .gossip,
    ]

    static func message(_ body: Message.Body) -> Message {
        Message(
            sender: Node(name: "agentd-1", address: "127.0.0.1:12345"),
            sequence: 1_800_000_000_000_000_001,
            sentAt: ClusterTime(seconds: 1_800_000_000.5),
            body: body,
            gossip: [member]
        )
    }

    @Test(arguments: bodies)
    func everyMessageRoundTrips(body: Message.Body) throws {
        for secret in [nil, Array("s3cret".utf8)] {
            let codec = MessageCodec(clusterName: "prod", secret: secret)
            let message = Self.message(body)
            #expect(try codec.decode(codec.encode(message)) == message)
        }
    }

    @Test func everyTruncationThrowsMalformedWithAnOffsetInsideTheInput() throws {
        let codec = MessageCodec(clusterName: "prod")
        for body in Self.bodies {
            let bytes = codec.encode(Self.message(body))
            for length in 0..<bytes.count {
                do {
                    _ = try codec.decode(Array(bytes[..<length]))
                    Issue.record("a \(length)-byte prefix decoded")
                } catch .malformed(let offset, _) {
                    #expect(offset <= length)
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
        }
    }

    @Test func corruptedBytesNeverCrashTheDecoder() {
        let codec = MessageCodec(clusterName: "prod")
        var random = SplitMix64(seed: 5)
        var rejected = 0
        for body in Self.bodies {
            let bytes = codec.encode(Self.message(body))
            for _ in 0..<500 {
                var corrupted = bytes
                for _ in 0..<3 {
                    corrupted[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                if (try? codec.decode(corrupted)) == nil { rejected += 1 }
            }
        }
        #expect(rejected > 0)
    }

    @Test func aForgedHugeCountIsRejectedWithoutAllocating() throws {
        let codec = MessageCodec(clusterName: "prod")
        var bytes = codec.encode(Self.message(.gossip))
        // Replace the gossip count (one member) with 2^40 and drop the member.
        let memberSize = MessageCodec.encodedSize(of: Self.member)
        bytes.removeLast(memberSize + 1)
        let countOffset = bytes.count
        bytes += [0x80, 0x80, 0x80, 0x80, 0x80, 0x20]
        #expect {
            try codec.decode(bytes)
        } throws: { error in
            guard case .malformed(let offset, _) = error as? MessageRejection else { return false }
            return offset == countOffset
        }
    }

    @Test func oversizedInputIsRejectedBeforeParsing() {
        let codec = MessageCodec(clusterName: "prod", maximumMessageSize: 64)
        let bytes = [UInt8](repeating: 0, count: 65)
        #expect(throws: MessageRejection.oversized(size: 65, limit: 64)) { try codec.decode(bytes) }
    }

    @Test func anotherClustersMessageIsRejectedAsAClusterMismatch() {
        let bytes = MessageCodec(clusterName: "staging").encode(Self.message(.gossip))
        #expect(throws: MessageRejection.clusterMismatch(expected: "prod", received: "staging")) {
            try MessageCodec(clusterName: "prod").decode(bytes)
        }
    }

    @Test func aWrongSecretAMissingTagOrATamperedByteFailAuthentication() {
        let codec = MessageCodec(clusterName: "prod", secret: Array("right".utf8))
        let wrong = MessageCodec(clusterName: "prod", secret: Array("wrong".utf8)).encode(Self.message(.gossip))
        let untagged = MessageCodec(clusterName: "prod").encode(Self.message(.gossip))
        var tampered = codec.encode(Self.message(.ack(probe: 9)))
        tampered[tampered.count - 40] ^= 1
        for bytes in [wrong, untagged, tampered] {
            #expect(throws: MessageRejection.authenticationFailed(sender: "agentd-1")) { try codec.decode(bytes) }
        }
    }

    @Test func theTagBindsTheClusterName() {
        // Same secret, another cluster: rejected as a mismatch even though the tag is valid there.
        let secret = Array("shared".utf8)
        let bytes = MessageCodec(clusterName: "a", secret: secret).encode(Self.message(.gossip))
        #expect(throws: MessageRejection.clusterMismatch(expected: "b", received: "a")) {
            try MessageCodec(clusterName: "b", secret: secret).decode(bytes)
        }
    }
}
