/// Snappy block-format compression (the format remote write requires), with one window over the
/// whole input.
///
/// libsnappy cuts its input into 64 KiB fragments and compresses each with a fresh hash table, so
/// every fragment of a request starts cold: the first series in it cannot point back at the series
/// before it, and a remote-write request of 2,000 samples is five such fragments. The format has
/// no such limit (a copy may reach back up to 4 GiB, and every decoder takes it), so this one
/// keeps a single table for the whole input: agentd's requests come out 2 to 4 % smaller than
/// libsnappy makes them (far more when a request holds the same series of several targets), at
/// 0.8 to 1.0 times its speed (docs/performance.md, *One snappy window a request*). The matcher is the
/// classic greedy one: a hash of the next four bytes finds the last place they were seen, a match
/// is extended both ways, and after a run of misses the probe skips ahead faster.
///
/// A compressor keeps its hash table between calls, so compressing allocates nothing once warmed
/// up. Not thread-safe: give each thread its own.
public struct SnappyCompressor: Sendable {
    /// The hash table's size, at most: 8 Ki entries of 4 bytes, which stay in the first-level
    /// cache. Tables up to 16 times as large found 0.2 % more on remote-write requests.
    private static let maxTableBits = 13
    /// For each hash of four bytes, the position where they were last seen (0 at first).
    private var table: [UInt32] = []

    /// Creates a compressor.
    public init() {}

    /// The most bytes ``compress(_:into:)`` writes for `count` input bytes (libsnappy's bound,
    /// which this encoder stays within: a copy never takes more bytes than the input it stands
    /// for).
    public static func maxCompressedLength(_ count: Int) -> Int {
        32 + count + count / 6
    }

    /// The largest input a block can hold (its length preamble is 32 bits).
    public static let maxInputLength = Int(UInt32.max)

    /// Compresses `input` into `output`, which holds at least ``maxCompressedLength(_:)`` bytes,
    /// and returns the number of bytes written.
    public mutating func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
        -> Int
    {
        let count = input.count
        precondition(count <= Self.maxInputLength, "a snappy block holds at most 4 GiB")
        precondition(output.count >= Self.maxCompressedLength(count), "the output is smaller than the bound")
        let start = output.baseAddress!
        var out = UnsafeMutableRawPointer(Varint.write(UInt64(count), at: start.assumingMemoryBound(to: UInt8.self)))
        guard count >= Self.minimumMatchedInput, let base = input.baseAddress else {
            if count > 0 { out = Self.emitLiteral(from: input.baseAddress!, count: count, at: out) }
            return out - start
        }
        var bits = 8
        while bits < Self.maxTableBits && (1 << bits) < count { bits += 1 }
        let size = 1 << bits
        if self.table.count < size {
            self.table = [UInt32](repeating: 0, count: size)
        }
        out = self.table.withUnsafeMutableBufferPointer { table in
            table.baseAddress!.update(repeating: 0, count: size)
            return Self.compressBody(base, count: count, table: table.baseAddress!, shift: UInt32(32 - bits), at: out)
        }
        return out - start
    }

    /// Inputs shorter than this are written as one literal (the body's probe stops 15 bytes
    /// before the end).
    private static let minimumMatchedInput = 16

    /// The elements of a block (after its length preamble), written at `out`.
    @inline(__always)
    private static func compressBody(
        _ base: UnsafeRawPointer, count: Int, table: UnsafeMutablePointer<UInt32>, shift: UInt32,
        at start: UnsafeMutableRawPointer
    ) -> UnsafeMutableRawPointer {
        var out = start
        // Matches start before `limit`, so the 16 bytes the short-literal path copies from a
        // literal's start lie inside the input; a match is extended up to `count`.
        let limit = count - 15
        var ip = 1
        var literalStart = 0
        // After 32 misses in a row the probe moves two bytes at a time, then three, … (libsnappy's
        // heuristic: incompressible stretches are crossed quickly).
        var skip = 32
        while ip < limit {
            let word = base.loadUnaligned(fromByteOffset: ip, as: UInt32.self)
            let slot = Self.slot(of: word, shift: shift)
            let candidate = Int(truncatingIfNeeded: table[slot])
            table[slot] = UInt32(truncatingIfNeeded: ip)
            // Every position in the table is before `ip` (0 where nothing was stored yet).
            guard base.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == word else {
                ip &+= skip &>> 5
                skip &+= 1
                continue
            }
            let end = ip &+ 4 &+ Self.commonLength(base, ip &+ 4, candidate &+ 4, count: count)
            var from = ip
            var source = candidate
            while from > literalStart && source > 0
                && base.load(fromByteOffset: from &- 1, as: UInt8.self)
                    == base.load(fromByteOffset: source &- 1, as: UInt8.self)
            {
                from &-= 1
                source &-= 1
            }
            let offset = ip &- candidate
            // A copy reaching back 64 KiB or more takes five bytes: not worth it for a short match.
            if offset > 0xFFFF && end &- from < 8 {
                ip &+= skip &>> 5
                skip &+= 1
                continue
            }
            if from > literalStart {
                // `from` is before `limit`: 16 bytes from the literal's start are in the input.
                out = Self.emitLiteral(
                    from: base + literalStart, count: from &- literalStart, at: out, sixteenReadable: true)
            }
            out = Self.emitCopy(offset: offset, length: end &- from, at: out)
            // The two positions before the match's end are likely starts of the next one.
            if end < limit {
                for position in (end &- 2)..<end {
                    let word = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
                    table[Self.slot(of: word, shift: shift)] = UInt32(truncatingIfNeeded: position)
                }
            }
            ip = end
            literalStart = end
            skip = 32
        }
        if literalStart < count {
            out = Self.emitLiteral(from: base + literalStart, count: count - literalStart, at: out)
        }
        return out
    }

    /// The table slot of four bytes (a multiplicative hash, libsnappy's constant).
    @inline(__always)
    private static func slot(of word: UInt32, shift: UInt32) -> Int {
        Int(truncatingIfNeeded: (word &* 0x1E35_A7BD) &>> shift)
    }

    /// How many bytes from `a` and from `b` are equal, reading no further than `count`
    /// (`b` < `a`).
    @inline(__always)
    private static func commonLength(_ base: UnsafeRawPointer, _ a: Int, _ b: Int, count: Int) -> Int {
        var length = 0
        while a &+ length &+ 8 <= count {
            let difference =
                base.loadUnaligned(fromByteOffset: a &+ length, as: UInt64.self)
                ^ base.loadUnaligned(fromByteOffset: b &+ length, as: UInt64.self)
            if difference != 0 {
                return length &+ UInt64(littleEndian: difference).trailingZeroBitCount &>> 3
            }
            length &+= 8
        }
        while a &+ length < count
            && base.load(fromByteOffset: a &+ length, as: UInt8.self)
                == base.load(fromByteOffset: b &+ length, as: UInt8.self)
        {
            length &+= 1
        }
        return length
    }

    /// A literal element: a tag holding the length minus one (or how many bytes hold it), then the
    /// bytes. With `sixteenReadable` (16 bytes can be read from `source`), a literal of up to 16
    /// bytes, the usual one between matches, is copied with two 8-byte moves; what they write past
    /// it is overwritten by the next element, and stays within the output's bound.
    @inline(__always)
    private static func emitLiteral(
        from source: UnsafeRawPointer, count: Int, at start: UnsafeMutableRawPointer, sixteenReadable: Bool = false
    ) -> UnsafeMutableRawPointer {
        var out = start
        let n = UInt32(truncatingIfNeeded: count &- 1)
        if n < 60 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: n &<< 2), as: UInt8.self)
            out += 1
            if sixteenReadable && count <= 16 {
                out.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
                (out + 8).storeBytes(of: source.loadUnaligned(fromByteOffset: 8, as: UInt64.self), as: UInt64.self)
                return out + count
            }
        } else {
            let lengthBytes = n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : n < 1 << 24 ? 3 : 4
            out.storeBytes(of: UInt8(truncatingIfNeeded: (59 + lengthBytes) << 2), as: UInt8.self)
            for index in 0..<lengthBytes {
                (out + 1 + index).storeBytes(of: UInt8(truncatingIfNeeded: n >> (8 * index)), as: UInt8.self)
            }
            out += 1 + lengthBytes
        }
        out.copyMemory(from: source, byteCount: count)
        return out + count
    }

    /// Copy elements for a match of `length` ≥ 4 bytes, `offset` bytes back: pieces of at most
    /// 64 bytes, none shorter than 4.
    @inline(__always)
    private static func emitCopy(offset: Int, length: Int, at start: UnsafeMutableRawPointer)
        -> UnsafeMutableRawPointer
    {
        var out = start
        var length = length
        while length >= 68 {
            out = Self.emitShortCopy(offset: offset, length: 64, at: out)
            length &-= 64
        }
        if length > 64 {
            out = Self.emitShortCopy(offset: offset, length: 60, at: out)
            length &-= 60
        }
        return Self.emitShortCopy(offset: offset, length: length, at: out)
    }

    /// One copy element of 1 to 64 bytes: 2 bytes when the match is 4 to 11 bytes and reaches back
    /// less than 2 KiB, 3 when it reaches back less than 64 KiB, else 5.
    @inline(__always)
    private static func emitShortCopy(offset: Int, length: Int, at out: UnsafeMutableRawPointer)
        -> UnsafeMutableRawPointer
    {
        if length < 12 && offset < 2048 {
            out.storeBytes(
                of: UInt8(truncatingIfNeeded: 1 | ((length &- 4) &<< 2) | ((offset &>> 8) &<< 5)), as: UInt8.self)
            (out + 1).storeBytes(of: UInt8(truncatingIfNeeded: offset), as: UInt8.self)
            return out + 2
        }
        if offset <= 0xFFFF {
            out.storeBytes(of: UInt8(truncatingIfNeeded: 2 | ((length &- 1) &<< 2)), as: UInt8.self)
            (out + 1).storeBytes(of: UInt16(truncatingIfNeeded: offset).littleEndian, toByteOffset: 0, as: UInt16.self)
            return out + 3
        }
        out.storeBytes(of: UInt8(truncatingIfNeeded: 3 | ((length &- 1) &<< 2)), as: UInt8.self)
        (out + 1).storeBytes(of: UInt32(truncatingIfNeeded: offset).littleEndian, toByteOffset: 0, as: UInt32.self)
        return out + 5
    }

}
