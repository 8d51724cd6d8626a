import CSnappy
import NIOCore
import Primitives

/// Snappy block-format compression (the format remote write requires): compression by
/// ``SnappyCompressor`` (one window over the whole request), decompression by libsnappy.
///
/// A `Snappy` value owns the compressor's hash table and a scratch buffer that grows to the
/// largest output it has seen, both reused, so compressing a request allocates nothing once
/// warmed up. Not thread-safe: give each shard its own.
public struct Snappy: Sendable {
    private var scratch: [UInt8] = []
    private var compressor = SnappyCompressor()

    /// Creates a compressor with an empty scratch buffer.
    public init() {}

    /// Frees the scratch buffer and the hash table; the next compression allocates them again.
    public mutating func releaseBuffers() {
        self = Snappy()
    }

    /// Compresses `input` and returns the compressed block (a view of the reused scratch buffer).
    public mutating func compress(_ input: UnsafeRawBufferPointer) -> ArraySlice<UInt8> {
        let bound = SnappyCompressor.maxCompressedLength(input.count)
        if self.scratch.count < bound {
            self.scratch = [UInt8](repeating: 0, count: bound)
        }
        let length = self.scratch.withUnsafeMutableBytes { self.compressor.compress(input, into: $0) }
        return self.scratch[0..<length]
    }

    /// Compresses `input`, appending the compressed block to `buffer` without an intermediate copy.
    public mutating func compress(_ input: UnsafeRawBufferPointer, appendingTo buffer: inout ByteBuffer) {
        let bound = SnappyCompressor.maxCompressedLength(input.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { output in
            self.compressor.compress(input, into: output)
        }
    }

    /// Compresses `input` with a compressor of its own, appending the block to `buffer`.
    public static func compress(_ input: UnsafeRawBufferPointer, appendingTo buffer: inout ByteBuffer) {
        var snappy = Snappy()
        snappy.compress(input, appendingTo: &buffer)
    }

    /// Compresses `input` into `output` (at least `snappy_max_compressed_length` bytes) with
    /// libsnappy's encoder, and returns the number of bytes written: the reference agentd's own is
    /// measured and tested against. agentd sends what ``compress(_:appendingTo:)`` writes.
    public static func libsnappyCompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
        -> Int
    {
        var length = output.count
        let status = snappy_compress(
            input.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
            output.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
        precondition(status == SNAPPY_OK, "snappy_compress failed: the output is smaller than its bound")
        return length
    }

    /// Decompresses one snappy block.
    ///
    /// - Parameter limit: the largest uncompressed size accepted; a block that announces more is
    ///   rejected before anything is allocated.
    public static func uncompress(_ input: UnsafeRawBufferPointer, limit: Int = 64 << 20) throws(SnappyError)
        -> [UInt8]
    {
        let base = input.baseAddress?.assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(base, input.count, &length) == SNAPPY_OK else {
            throw SnappyError(reason: .invalidHeader, compressedLength: input.count)
        }
        guard length <= limit else {
            throw SnappyError(
                reason: .tooLarge(uncompressedLength: length, limit: limit), compressedLength: input.count)
        }
        var output = [UInt8](repeating: 0, count: length)
        var written = length
        let status = output.withUnsafeMutableBytes { out in
            snappy_uncompress(base, input.count, out.baseAddress?.assumingMemoryBound(to: CChar.self), &written)
        }
        guard status == SNAPPY_OK, written == length else {
            throw SnappyError(reason: .corrupt, compressedLength: input.count)
        }
        return output
    }

    /// Decompresses one snappy block held in an array.
    public static func uncompress(_ input: some Collection<UInt8>, limit: Int = 64 << 20) throws(SnappyError)
        -> [UInt8]
    {
        let result = Array(input).withUnsafeBytes { raw in
            Result { () throws(SnappyError) in try uncompress(raw, limit: limit) }
        }
        return try result.get()
    }
}

/// A snappy block that could not be decompressed.
public struct SnappyError: Error, Hashable, CustomStringConvertible {
    /// Why the block was rejected.
    public enum Reason: Hashable, Sendable {
        /// The varint length preamble is missing or malformed.
        case invalidHeader
        /// The announced uncompressed length exceeds the caller's limit.
        case tooLarge(uncompressedLength: Int, limit: Int)
        /// The block body does not decode to the announced length.
        case corrupt
    }

    /// Why the block was rejected.
    public var reason: Reason
    /// Size of the compressed input, for the log line.
    public var compressedLength: Int

    /// Creates an error.
    public init(reason: Reason, compressedLength: Int) {
        self.reason = reason
        self.compressedLength = compressedLength
    }

    public var description: String {
        switch self.reason {
        case .invalidHeader:
            return "snappy: invalid length preamble in a \(self.compressedLength)-byte block"
        case .tooLarge(let length, let limit):
            return "snappy: block announces \(length) bytes, more than the limit of \(limit)"
        case .corrupt:
            return "snappy: corrupt \(self.compressedLength)-byte block"
        }
    }
}
