import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes and decodes ``Message``s in a compact binary format, authenticating them when a
/// shared secret is configured.
///
/// Layout (integers are LEB128 varints, signed ones zig-zag; strings are a varint length and
/// UTF-8 bytes; see `docs/cluster.md`):
///
///     magic 0xA6 0xC1 | version 1 | flags (bit 0: tagged, bit 1: weights) | cluster name
///     sender name | sender address | sequence | sentAt (ns) | kind | body | gossip count | members
///     [HMAC-SHA256 tag, 32 bytes, over (cluster name, every byte before the tag)]
///
/// With flag bit 1 every member ends with its weight publication: a version (0: none), and for
/// a publication its effective time, a count and that many (key as 8 bytes little-endian, weight).
/// The flag is set only when some member in the message has published weights, so a cluster
/// that does not balance by series sends exactly what earlier builds read.
///
/// Decoding never traps: malformed input throws ``MessageRejection/malformed(offset:reason:)``
/// with the offset of the offending byte; another cluster's message throws
/// ``MessageRejection/clusterMismatch(expected:received:)``, a missing or wrong tag
/// ``MessageRejection/authenticationFailed(sender:)``.
public struct MessageCodec: Sendable {
    static let magic: (UInt8, UInt8) = (0xA6, 0xC1)
    /// The encoding's version, the first byte after the magic.
    public static let version: UInt8 = 1
    static let tagSize = 32
    static let maximumStringLength = 1024
    static let maximumReporters = 16
    static let maximumHistory = 32
    /// The most targets one weight publication may name.
    static let maximumWeights = 1 << 20

    /// The cluster this node belongs to (`--cluster.name`); at most 255 UTF-8 bytes.
    public let clusterName: String
    /// The largest message accepted or produced, in bytes.
    public let maximumMessageSize: Int
    private let secret: [UInt8]?
    private let clusterNameBytes: [UInt8]

    /// - Parameters:
    ///   - clusterName: Messages naming another cluster are rejected.
    ///   - secret: When set, every message carries an HMAC-SHA256 tag and untagged or wrongly
    ///     tagged messages are rejected.
    ///   - maximumMessageSize: The size bound; larger input is rejected before it is parsed.
    public init(clusterName: String, secret: [UInt8]? = nil, maximumMessageSize: Int = 1 << 20) {
        precondition(clusterName.utf8.count <= 255, "cluster name longer than 255 bytes")
        self.clusterName = clusterName
        self.clusterNameBytes = Array(clusterName.utf8)
        self.maximumMessageSize = maximumMessageSize
        self.secret = secret
    }

    /// Whether messages are authenticated.
    public var isAuthenticated: Bool { self.secret != nil }

    private var key: SymmetricKey? { self.secret.map { SymmetricKey(data: $0) } }

    // MARK: Encoding

    /// The wire bytes of `message`.
    public func encode(_ message: Message) -> [UInt8] {
        var writer = BinaryWriter(capacity: 128 + message.gossip.count * 96)
        writer.writeByte(Self.magic.0)
        writer.writeByte(Self.magic.1)
        writer.writeByte(Self.version)
        let withWeights = message.carriesWeights
        writer.writeByte((self.key == nil ? 0 : 1) | (withWeights ? 2 : 0))
        writer.writeByte(UInt8(self.clusterNameBytes.count))
        writer.bytes.append(contentsOf: self.clusterNameBytes)
        writer.writeString(message.sender.name)
        writer.writeString(message.sender.address)
        writer.writeVarint(message.sequence)
        writer.writeSignedVarint(message.sentAt.nanoseconds)
        writer.writeByte(message.body.kind.rawValue)
        switch message.body {
        case .ping(let probe, let target):
            writer.writeVarint(probe)
            writer.writeString(target)
        case .ack(let probe), .nack(let probe):
            writer.writeVarint(probe)
        case .pingRequest(let probe, let target):
            writer.writeVarint(probe)
            writer.writeString(target.name)
            writer.writeString(target.address)
        case .pushPull(let members, let join, let reply):
            writer.writeByte((join ? 1 : 0) | (reply ? 2 : 0))
            Self.write(members, to: &writer, withWeights: withWeights)
        case .gossip:
            break
        }
        Self.write(message.gossip, to: &writer, withWeights: withWeights)
        if let key = self.key {
            let tag = self.tag(for: writer.bytes[...], key: key)
            tag.withUnsafeBytes { writer.bytes.append(contentsOf: $0) }
        }
        return writer.bytes
    }

    /// The encoded size of one member update, for gossip budgets (with its weights field, which
    /// a message may carry for another member's sake).
    public static func encodedSize(of member: Member) -> Int {
        var writer = BinaryWriter(capacity: 128)
        write(member, to: &writer, withWeights: true)
        return writer.bytes.count
    }

    private static func write(_ members: [Member], to writer: inout BinaryWriter, withWeights: Bool) {
        writer.writeVarint(UInt64(members.count))
        for member in members { write(member, to: &writer, withWeights: withWeights) }
    }

    private static func write(_ member: Member, to writer: inout BinaryWriter, withWeights: Bool) {
        writer.writeString(member.node.name)
        writer.writeString(member.node.address)
        writer.writeVarint(member.incarnation)
        writer.writeByte(member.liveness.rawValue)
        let reporters = member.reporters.prefix(maximumReporters)
        writer.writeVarint(UInt64(reporters.count))
        for reporter in reporters { writer.writeString(reporter) }
        let history = member.history.suffix(maximumHistory)
        writer.writeVarint(UInt64(history.count))
        for change in history {
            writer.writeByte(change.role.rawValue)
            writer.writeVarint(change.lamport)
            writer.writeSignedVarint(change.effective.nanoseconds)
        }
        guard withWeights else { return }
        guard let publication = member.weights, publication.version > 0 else {
            writer.writeVarint(0)
            return
        }
        writer.writeVarint(publication.version)
        writer.writeSignedVarint(publication.effective.nanoseconds)
        writer.writeVarint(UInt64(publication.weights.count))
        for (key, weight) in publication.weights.sorted(by: { $0.key < $1.key }) {
            writer.writeFixed64(key)
            writer.writeVarint(weight)
        }
    }

    private func tag(for bytes: ArraySlice<UInt8>, key: SymmetricKey) -> HMAC<SHA256>.MAC {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: [UInt8(self.clusterNameBytes.count)])
        hmac.update(data: self.clusterNameBytes)
        hmac.update(data: bytes)
        return hmac.finalize()
    }

    // MARK: Decoding

    /// Decodes, checks the cluster name and, when a secret is configured, the tag.
    public func decode(_ bytes: [UInt8]) throws(MessageRejection) -> Message {
        guard bytes.count <= self.maximumMessageSize else {
            throw .oversized(size: bytes.count, limit: self.maximumMessageSize)
        }
        var reader = BinaryReader(bytes)
        let magic0 = try reader.readByte("magic")
        let magic1 = try reader.readByte("magic")
        guard magic0 == Self.magic.0, magic1 == Self.magic.1 else {
            throw reader.fail("bad magic 0x\(String(magic0, radix: 16))\(String(magic1, radix: 16))", at: 0)
        }
        let version = try reader.readByte("version")
        guard version == Self.version else { throw reader.fail("unsupported version \(version)", at: 2) }
        let flags = try reader.readByte("flags")
        guard flags & ~3 == 0 else { throw reader.fail("unknown flags 0x\(String(flags, radix: 16))", at: 3) }
        let tagged = flags & 1 == 1
        let withWeights = flags & 2 == 2

        let nameLength = Int(try reader.readByte("cluster name length"))
        guard nameLength <= reader.remaining else { throw reader.fail("truncated cluster name") }
        let nameStart = reader.offset
        let nameBytes = bytes[nameStart..<(nameStart + nameLength)]
        if !nameBytes.elementsEqual(self.clusterNameBytes) {
            throw .clusterMismatch(expected: self.clusterName, received: String(decoding: nameBytes, as: UTF8.self))
        }

        var end = bytes.count
        if tagged {
            guard bytes.count - Self.tagSize >= nameStart + nameLength else {
                throw reader.fail("truncated authentication tag")
            }
            end = bytes.count - Self.tagSize
        }
        reader = BinaryReader(bytes, from: nameStart + nameLength, end: end)

        let senderName = try reader.readString("sender name", maximumLength: Self.maximumStringLength)
        if let key = self.key {
            guard tagged, self.tag(for: bytes[..<end], key: key) == bytes[end...] else {
                throw .authenticationFailed(sender: senderName)
            }
        }
        let senderAddress = try reader.readString("sender address", maximumLength: Self.maximumStringLength)
        let sequence = try reader.readVarint("sequence")
        let sentAt = ClusterTime(nanoseconds: try reader.readSignedVarint("sent time"))
        let kindOffset = reader.offset
        let kindByte = try reader.readByte("message kind")
        guard let kind = MessageKind(rawValue: kindByte) else {
            throw reader.fail("unknown message kind \(kindByte)", at: kindOffset)
        }
        let body: Message.Body
        switch kind {
        case .ping:
            let probe = try reader.readVarint("probe number")
            body = .ping(probe: probe, target: try reader.readString("target", maximumLength: Self.maximumStringLength))
        case .ack:
            body = .ack(probe: try reader.readVarint("probe number"))
        case .nack:
            body = .nack(probe: try reader.readVarint("probe number"))
        case .pingRequest:
            let probe = try reader.readVarint("probe number")
            let name = try reader.readString("target name", maximumLength: Self.maximumStringLength)
            let address = try reader.readString("target address", maximumLength: Self.maximumStringLength)
            body = .pingRequest(probe: probe, target: Node(name: name, address: address))
        case .pushPull:
            let flagsOffset = reader.offset
            let flags = try reader.readByte("push-pull flags")
            guard flags & ~3 == 0 else { throw reader.fail("unknown push-pull flags \(flags)", at: flagsOffset) }
            let members = try Self.readMembers(&reader, withWeights: withWeights)
            body = .pushPull(members: members, join: flags & 1 != 0, reply: flags & 2 != 0)
        case .gossip:
            body = .gossip
        }
        let gossip = try Self.readMembers(&reader, withWeights: withWeights)
        guard reader.remaining == 0 else { throw reader.fail("\(reader.remaining) trailing bytes") }
        return Message(
            sender: Node(name: senderName, address: senderAddress),
            sequence: sequence,
            sentAt: sentAt,
            body: body,
            gossip: gossip
        )
    }

    private static func readMembers(_ reader: inout BinaryReader, withWeights: Bool) throws(MessageRejection)
        -> [Member]
    {
        // The smallest member: two empty strings, incarnation, liveness, two empty counts.
        let count = try reader.readCount("members", minimumElementSize: 6, maximum: 1 << 16)
        var members: [Member] = []
        members.reserveCapacity(count)
        for _ in 0..<count { members.append(try readMember(&reader, withWeights: withWeights)) }
        return members
    }

    private static func readMember(_ reader: inout BinaryReader, withWeights: Bool) throws(MessageRejection)
        -> Member
    {
        let name = try reader.readString("member name", maximumLength: maximumStringLength)
        let address = try reader.readString("member address", maximumLength: maximumStringLength)
        let incarnation = try reader.readVarint("incarnation")
        let livenessOffset = reader.offset
        let livenessByte = try reader.readByte("liveness")
        guard let liveness = Liveness(rawValue: livenessByte) else {
            throw reader.fail("unknown liveness \(livenessByte)", at: livenessOffset)
        }
        let reporterCount = try reader.readCount("reporters", minimumElementSize: 1, maximum: maximumReporters)
        var reporters: [String] = []
        reporters.reserveCapacity(reporterCount)
        for _ in 0..<reporterCount {
            reporters.append(try reader.readString("reporter", maximumLength: maximumStringLength))
        }
        let historyCount = try reader.readCount("history entries", minimumElementSize: 3, maximum: maximumHistory)
        var history: [StateChange] = []
        history.reserveCapacity(historyCount)
        for _ in 0..<historyCount {
            let roleOffset = reader.offset
            let roleByte = try reader.readByte("role")
            guard let role = Role(rawValue: roleByte) else {
                throw reader.fail("unknown role \(roleByte)", at: roleOffset)
            }
            let lamport = try reader.readVarint("Lamport time")
            let effective = try reader.readSignedVarint("effective time")
            history.append(StateChange(role: role, lamport: lamport, effective: ClusterTime(nanoseconds: effective)))
        }
        return Member(
            node: Node(name: name, address: address),
            incarnation: incarnation,
            liveness: liveness,
            reporters: reporters,
            history: history,
            weights: withWeights ? try readWeights(&reader) : nil
        )
    }

    private static func readWeights(_ reader: inout BinaryReader) throws(MessageRejection) -> WeightPublication? {
        let version = try reader.readVarint("weights version")
        guard version > 0 else { return nil }
        let effective = ClusterTime(nanoseconds: try reader.readSignedVarint("weights effective time"))
        let count = try reader.readCount("weights", minimumElementSize: 9, maximum: maximumWeights)
        var weights: [UInt64: UInt64] = [:]
        weights.reserveCapacity(count)
        for _ in 0..<count {
            let offset = reader.offset
            let key = try reader.readFixed64("target key")
            guard weights.updateValue(try reader.readVarint("weight"), forKey: key) == nil else {
                throw reader.fail("target \(key) weighed twice", at: offset)
            }
        }
        return WeightPublication(version: version, effective: effective, weights: weights)
    }
}
