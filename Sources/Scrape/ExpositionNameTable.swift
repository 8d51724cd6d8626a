/// An insert-only map from metric names (bytes) to a small value, looked up without allocating:
/// names are copied once into one byte arena; slots use open addressing with linear probing.
struct ExpositionNameTable {
    private struct Slot {
        var hash: UInt64
        var offset: Int32
        var length: Int32  // -1 for an empty slot
        var value: UInt32
    }

    private var arena: [UInt8] = []
    private var slots: [Slot]
    private(set) var count = 0

    /// A table with room for `names` names before it grows (at least 8).
    init(capacity names: Int = 8) {
        var size = 16
        while size < 2 * names { size *= 2 }
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: -1, value: 0), count: size)
    }

    /// The value stored for `name`, if any.
    func value(for name: UnsafeRawBufferPointer) -> UInt32? {
        let hash = ExpositionHash.hash(name)
        let index = find(name, hash: hash)
        return slots[index].length < 0 ? nil : slots[index].value
    }

    /// Stores `value` for `name`, inserting the name when new.
    mutating func setValue(_ value: UInt32, for name: UnsafeRawBufferPointer) {
        update(name) { $0 = value }
    }

    /// Changes the value stored for `name` (0 when new) in place; returns the new value.
    @discardableResult
    mutating func update(_ name: UnsafeRawBufferPointer, _ change: (inout UInt32) -> Void) -> UInt32 {
        let hash = ExpositionHash.hash(name)
        let index = find(name, hash: hash)
        if slots[index].length >= 0 {
            change(&slots[index].value)
            return slots[index].value
        }
        var value: UInt32 = 0
        change(&value)
        slots[index] = Slot(hash: hash, offset: Int32(arena.count), length: Int32(name.count), value: value)
        arena.append(contentsOf: name)
        count += 1
        if count * 2 > slots.count { grow() }
        return value
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        for index in slots.indices { slots[index].length = -1 }
        count = 0
    }

    /// The slot holding `name`, or the empty slot where it would go.
    private func find(_ name: UnsafeRawBufferPointer, hash: UInt64) -> Int {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBytes { arena in
            while true {
                let slot = slots[index]
                if slot.length < 0 { return index }
                if slot.hash == hash && Int(slot.length) == name.count {
                    let stored = UnsafeRawBufferPointer(
                        rebasing: arena[Int(slot.offset)..<Int(slot.offset + slot.length)])
                    if ExpositionBytes.equal(stored, name) { return index }
                }
                index = (index + 1) & mask
            }
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: -1, value: 0), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.length >= 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].length >= 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}
