/// The label names of the label set being parsed, to refuse a repeated one in time linear in the
/// number of labels: a scan while the set is small (the usual case, and the fastest), a hash
/// table once it holds more than ``linearLimit`` names. Names are offsets into the line, which
/// stays in place while its label set is parsed.
struct ExpositionLabelNames {
    /// Sets up to this size are scanned; larger ones use the table.
    static let linearLimit = 16

    private var starts: [Int] = []
    private var lengths: [Int] = []
    /// Open addressing, linear probing: a slot holds a name's index + 1 when its stamp is current.
    private var slots: [Int32] = []
    private var stamps: [UInt32] = []
    private var stamp: UInt32 = 1

    var count: Int { starts.count }

    /// Forgets the names of the previous label set, keeping capacity. The table is not cleared:
    /// a set that grows past ``linearLimit`` rebuilds it under a new stamp.
    mutating func reset() {
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
    }

    /// Adds the name `line[start..<start + length]`; `false` if the set already holds it.
    mutating func insert(_ line: UnsafePointer<UInt8>, start: Int, length: Int) -> Bool {
        if starts.count < Self.linearLimit {
            for index in starts.indices where lengths[index] == length && line[starts[index]] == line[start] {
                if same(line, starts[index], start, length) { return false }
            }
            starts.append(start)
            lengths.append(length)
            if starts.count == Self.linearLimit {
                rebuildTable(line, capacity: 4 * Self.linearLimit)
            }
            return true
        }
        if 2 * (starts.count + 1) > slots.count {
            rebuildTable(line, capacity: 2 * slots.count)
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash(line, start: start, length: length)) & mask
        while stamps[slot] == stamp {
            let other = Int(slots[slot]) - 1
            if lengths[other] == length && same(line, starts[other], start, length) { return false }
            slot = (slot + 1) & mask
        }
        stamps[slot] = stamp
        slots[slot] = Int32(starts.count + 1)
        starts.append(start)
        lengths.append(length)
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
        for index in starts.indices {
            var slot = Int(truncatingIfNeeded: hash(line, start: starts[index], length: lengths[index])) & mask
            while stamps[slot] == stamp { slot = (slot + 1) & mask }
            stamps[slot] = stamp
            slots[slot] = Int32(index + 1)
        }
    }
}
