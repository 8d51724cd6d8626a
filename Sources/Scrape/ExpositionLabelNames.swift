/// The label names of the label set being parsed, to refuse a repeated one in time linear in the
/// number of labels: a scan while the set is small (the usual case, and the fastest), a hash
/// table once it holds ``linearLimit`` names. Names are offsets into the line, which stays in
/// place while its label set is parsed.
struct ExpositionLabelNames {
    /// Sets up to this size are scanned; larger ones use the table.
    static let linearLimit = 16

    /// Start and length of each name, in pairs.
    private var bounds: [Int] = []
    /// Open addressing, linear probing: a slot holds a name's index + 1 when its stamp is current.
    private var slots: [Int32] = []
    private var stamps: [UInt32] = []
    private var stamp: UInt32 = 1

    var count: Int { bounds.count / 2 }

    /// Forgets the names of the previous label set, keeping capacity. The table is not cleared:
    /// a set that grows to ``linearLimit`` names rebuilds it under a new stamp.
    @inline(__always)
    mutating func reset() {
        bounds.removeAll(keepingCapacity: true)
    }

    /// Adds the name `line[start..<start + length]`; `false` if the set already holds it.
    @inline(__always)
    mutating func insert(_ line: UnsafePointer<UInt8>, start: Int, length: Int) -> Bool {
        guard bounds.count < 2 * Self.linearLimit else { return insertHashed(line, start: start, length: length) }
        var index = 0
        while index < bounds.count {
            let other = bounds[index]
            if bounds[index + 1] == length && line[other] == line[start] && same(line, other, start, length) {
                return false
            }
            index += 2
        }
        bounds.append(start)
        bounds.append(length)
        if bounds.count == 2 * Self.linearLimit {
            rebuildTable(line, capacity: 4 * Self.linearLimit)
        }
        return true
    }

    private mutating func insertHashed(_ line: UnsafePointer<UInt8>, start: Int, length: Int) -> Bool {
        if 2 * (count + 1) > slots.count {
            rebuildTable(line, capacity: 2 * slots.count)
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash(line, start: start, length: length)) & mask
        while stamps[slot] == stamp {
            let other = 2 * (Int(slots[slot]) - 1)
            if bounds[other + 1] == length && same(line, bounds[other], start, length) { return false }
            slot = (slot + 1) & mask
        }
        stamps[slot] = stamp
        slots[slot] = Int32(count + 1)
        bounds.append(start)
        bounds.append(length)
        return true
    }

    @inline(__always)
    private func same(_ line: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ length: Int) -> Bool {
        ExpositionBytes.equal(
            UnsafeRawBufferPointer(start: line + a, count: length),
            UnsafeRawBufferPointer(start: line + b, count: length))
    }

    private func hash(_ line: UnsafePointer<UInt8>, start: Int, length: Int) -> UInt64 {
        ExpositionHash.hash(UnsafeRawBufferPointer(start: line + start, count: length))
    }

    /// A table of `capacity` slots (a power of two) holding every name so far, under a new stamp.
    private mutating func rebuildTable(_ line: UnsafePointer<UInt8>, capacity: Int) {
        if slots.count < capacity {
            slots = Array(repeating: 0, count: capacity)
            stamps = Array(repeating: 0, count: capacity)
            stamp = 1
        } else {
            stamp &+= 1
            if stamp == 0 {
                stamps.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                stamp = 1
            }
        }
        let mask = slots.count - 1
        for index in 0..<count {
            let start = bounds[2 * index]
            var slot = Int(truncatingIfNeeded: hash(line, start: start, length: bounds[2 * index + 1])) & mask
            while stamps[slot] == stamp { slot = (slot + 1) & mask }
            stamps[slot] = stamp
            slots[slot] = Int32(index + 1)
        }
    }
}
