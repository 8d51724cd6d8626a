import CSnappy
import FuzzSupport
import Primitives

// agentd's snappy encoder (`SnappyCompressor`) against libsnappy's decoder: every block it writes
// must decode to its input and stay within the bound it promises. Each input is compressed
// three ways: as it is; twice with 70,000 bytes between the copies, so that matches reach back
// further than 64 KiB (copies with 4-byte offsets); and as a run that repeats it until 200 KiB
// (long matches, cut into pieces of 64 bytes).

/// One compressor for every input, as a shard keeps one: its hash table is reused across inputs
/// of every size. libFuzzer calls the target from one thread.
nonisolated(unsafe) var compressor = SnappyCompressor()

func roundTrip(_ input: [UInt8]) {
    var output = [UInt8](repeating: 0, count: SnappyCompressor.maxCompressedLength(input.count))
    let length = input.withUnsafeBytes { raw in output.withUnsafeMutableBytes { compressor.compress(raw, into: $0) } }
    fuzzCheck(length <= output.count, "wrote \(length) bytes past the bound \(output.count)")
    var decodedLength = 0
    let base = output.withUnsafeBytes { $0.baseAddress!.assumingMemoryBound(to: CChar.self) }
    fuzzCheck(
        snappy_uncompressed_length(base, length, &decodedLength) == SNAPPY_OK && decodedLength == input.count,
        "libsnappy read another length from the preamble: \(decodedLength), not \(input.count)")
    var decoded = [UInt8](repeating: 0, count: max(decodedLength, 1))
    var written = decoded.count
    let status = output.withUnsafeBytes { compressed in
        decoded.withUnsafeMutableBytes { out in
            snappy_uncompress(
                compressed.baseAddress!.assumingMemoryBound(to: CChar.self), length,
                out.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
        }
    }
    fuzzCheck(status == SNAPPY_OK, "libsnappy refused a block of \(input.count) bytes")
    fuzzCheck(
        written == input.count && decoded.prefix(written).elementsEqual(input), "the block decoded to other bytes")
}

func seeds() -> [FuzzDriver.Seed] {
    var labels: [UInt8] = []
    for index in 0..<200 {
        labels += Array("\n\u{1}\n\u{8}__name__\u{12}\u{11}synthetic_metric_\(index % 7)".utf8)
        labels += Array("\n\u{1}\n\u{8}instance\u{12}\u{f}127.0.0.1:\(10_000 + index / 50)".utf8)
    }
    var random = SplitMix64(seed: 17)
    return [
        .init("labels", labels),
        .init("text", Array(String(repeating: "abcdefgh12345678", count: 40).utf8)),
        .init("random", (0..<3_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }),
    ]
}

/// libFuzzer's entry point (its own `main`, linked in but not used, refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(fuzzInput(data, size))
    roundTrip(input)
    guard !input.isEmpty else { return 0 }
    let gap = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ $0 >> 7) }
    roundTrip(input + gap + input)
    var run: [UInt8] = []
    run.reserveCapacity(200 << 10)
    while run.count < 200 << 10 { run += input }
    roundTrip(run)
    return 0
}

FuzzDriver.run(seeds: seeds, fuzzOneInput)
