/// Member updates waiting to be piggybacked, each sent a bounded number of times (memberlist's
/// `TransmitLimitedQueue`): the least transmitted, then the newest, go first; a newer update about
/// a member replaces the queued one.
struct BroadcastQueue: Sendable {
    private struct Item: Sendable {
        var member: Member
        var size: Int
        var transmits: Int
        var order: UInt64
    }

    private var items: [Item] = []
    private var nextOrder: UInt64 = 0

    var count: Int { self.items.count }
    var isEmpty: Bool { self.items.isEmpty }

    mutating func enqueue(_ member: Member) {
        self.items.removeAll { $0.member.name == member.name }
        self.nextOrder += 1
        self.items.append(
            Item(member: member, size: MessageCodec.encodedSize(of: member), transmits: 0, order: self.nextOrder)
        )
    }

    /// Takes the updates that fit in `budget` bytes, counting a transmission for each and
    /// dropping those sent `transmitLimit` times. An update larger than the whole budget (a
    /// member with many weights) goes alone; messages travel over HTTP, not in a datagram.
    mutating func take(budget: Int, transmitLimit: Int, excluding excluded: String? = nil) -> [Member] {
        guard !self.items.isEmpty, budget > 0 else { return [] }
        self.items.sort { ($0.transmits, ~$0.order) < ($1.transmits, ~$1.order) }
        var taken: [Member] = []
        var used = 0
        for index in self.items.indices {
            let item = self.items[index]
            guard item.member.name != excluded, used + item.size <= budget || (used == 0 && item.size > budget)
            else { continue }
            used += item.size
            taken.append(item.member)
            self.items[index].transmits += 1
        }
        self.items.removeAll { $0.transmits >= transmitLimit }
        return taken
    }
}
