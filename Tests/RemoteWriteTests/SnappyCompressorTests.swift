import Primitives
import RemoteWrite
import Testing

/// agentd's snappy encoder, read back by libsnappy's decoder (the reference every receiver's
/// decoder agrees with) and compared with libsnappy's encoder.
@Suite struct SnappyCompressorTests {
    private func compress(_ input: [UInt8]) -> [UInt8] {
        var compressor = SnappyCompressor()
        var output = [UInt8](repeating: 0, count: SnappyCompressor.maxCompressedLength(input.count))
        let length = input.withUnsafeBytes { raw in output.withUnsafeMutableBytes { compressor.compress(raw, into: $0) }
        }
        return Array(output[0..<length])
    }

    private func libsnappyCompressed(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SnappyCompressor.maxCompressedLength(input.count))
        let length = input.withUnsafeBytes { raw in
            output.withUnsafeMutableBytes { Snappy.libsnappyCompress(raw, into: $0) }
        }
        return Array(output[0..<length])
    }

    /// Compresses `input`, checks the block against the bound and decodes it with libsnappy.
    private func roundTrip(_ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let compressed = compress(input)
        #expect(compressed.count <= SnappyCompressor.maxCompressedLength(input.count), sourceLocation: sourceLocation)
        let decoded = try Snappy.uncompress(compressed, limit: input.count)
        #expect(
            decoded == input, "a block of \(input.count) bytes decoded to other bytes", sourceLocation: sourceLocation)
    }

    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test func shortInputsAreOneLiteral() throws {
        for count in 0...17 {
            let input = (0..<count).map { UInt8($0 % 3) }
            try roundTrip(input)
        }
        // The length preamble and one literal element whose tag holds the length.
        #expect(compress([]) == [0])
        #expect(compress(Array("abc".utf8)) == [3, 2 << 2] + Array("abc".utf8))
    }

    /// Literal runs just below and above each length the tag switches at (60, 256, 65,536 bytes:
    /// the length in the tag, then in one, two or three more bytes), between repeats.
    @Test func literalsOfEveryHeaderSizeRoundTrip() throws {
        for (index, count) in [59, 60, 61, 62, 255, 256, 257, 65_535, 65_536, 65_537, 70_000].enumerated() {
            let repeated = Array(repeating: UInt8(7), count: 100)
            try roundTrip(repeated + randomBytes(count, seed: UInt64(index)) + repeated)
        }
    }

    /// Repeats at distances from 1 byte to past 64 KiB (one-, two- and four-byte offsets) and of
    /// lengths that are cut into pieces of 64 bytes.
    @Test func copiesAtEveryDistanceRoundTrip() throws {
        for distance in [1, 2, 3, 4, 7, 8, 11, 12, 64, 100, 2_047, 2_048, 2_049, 65_535, 65_536, 65_537, 100_000] {
            let unit = randomBytes(distance, seed: UInt64(distance))
            for length in [4, 5, 11, 12, 63, 64, 65, 66, 67, 68, 69, 130, 1_000] {
                let repeatedPart = Array((unit + unit).prefix(length))
                try roundTrip(unit + repeatedPart + randomBytes(20, seed: 99))
            }
        }
    }

    /// Inputs made of random pieces and copies of earlier bytes, at random distances and lengths.
    @Test func mixedInputsRoundTrip() throws {
        var random = SplitMix64(seed: 2026)
        for round in 0..<300 {
            var input: [UInt8] = []
            let target = Int(random.next() % 150_000)
            while input.count < target {
                let length = 1 + Int(random.next() % (random.next() % 2 == 0 ? 16 : 300))
                if input.count > 4 && random.next() % 3 != 0 {
                    let from = Int(random.next() % UInt64(input.count))
                    for index in 0..<length { input.append(input[from + index % (input.count - from)]) }
                } else {
                    input += randomBytes(length, seed: UInt64(round) << 32 | UInt64(input.count))
                }
            }
            try roundTrip(input)
        }
    }

    /// Random bytes: nothing to match, and the block stays within the bound.
    @Test func incompressibleInputStaysWithinTheBound() throws {
        let input = randomBytes(300_000, seed: 5)
        let compressed = compress(input)
        #expect(compressed.count <= input.count + 16)
        #expect(try Snappy.uncompress(compressed) == input)
    }

    /// What the single window buys: the second copy of 100 KiB of random bytes is one run of
    /// copies reaching back 100 KiB, which libsnappy, whose matches stay inside a fragment of
    /// 64 KiB, cannot make.
    @Test func aRepeatFartherBackThan64KiBIsACopy() throws {
        let half = randomBytes(100_000, seed: 11)
        let input = half + half
        let ours = compress(input)
        let theirs = libsnappyCompressed(input)
        #expect(try Snappy.uncompress(ours) == input)
        #expect(ours.count < 110_000, "\(ours.count) bytes")
        #expect(theirs.count > 190_000, "\(theirs.count) bytes")
    }

    /// A shard's `Snappy` frees its hash table and scratch buffer when idle; what it compresses
    /// next must match a new compressor's block.
    @Test func aCompressorWhoseBuffersWereReleasedCompressesAsANewOne() throws {
        let first = randomBytes(3_000, seed: 5) + randomBytes(3_000, seed: 5)
        let second = Array(repeating: randomBytes(700, seed: 9), count: 6).flatMap { $0 }
        var snappy = Snappy()
        _ = first.withUnsafeBytes { snappy.compress($0) }
        snappy.releaseBuffers()
        let again = second.withUnsafeBytes { Array(snappy.compress($0)) }
        #expect(again == compress(second))
        #expect(try Snappy.uncompress(again) == second)
    }

    /// A remote-write request as agentd sends them (2,000 series of 40 families over 10 targets,
    /// one sample each): smaller than libsnappy makes it, since series past each 64 KiB fragment
    /// still find the ones before it.
    @Test func aRemoteWriteRequestIsSmallerThanLibsnappyMakesIt() throws {
        var batch = RemoteWriteBatch(capacity: 2_000)
        for index in 0..<2_000 {
            let labels = [
                RemoteWriteLabel(name: "__name__", value: "synthetic_requests_\(index / 50 % 40)_total"),
                RemoteWriteLabel(name: "instance", value: "127.0.0.1:\(20_000 + index / 200)"),
                RemoteWriteLabel(name: "job", value: "synthetic"),
                RemoteWriteLabel(name: "path", value: "/api/v1/items/\(index % 50)"),
            ]
            batch.append(
                RemoteWriteLabelSet(labels), timestamp: 1_764_633_600_000 + Int64(index / 200),
                value: Double(index * 37 % 1_000))
        }
        var encoder = WriteRequestEncoder()
        encoder.encode(batch)
        let request = Array(encoder.bytes)
        #expect(request.count > 3 * 65_536)
        let ours = compress(request)
        let theirs = libsnappyCompressed(request)
        #expect(try Snappy.uncompress(ours) == request)
        #expect(ours.count < theirs.count, "agentd \(ours.count) bytes, libsnappy \(theirs.count)")
    }
}
