import CSnappy
import NIOCore

/// Snappy block-format compression (the format remote write requires) over libsnappy.
///
/// A `Snappy` value owns a scratch buffer that grows to the largest input it has seen and is
/// reused, so compressing a request allocates nothing once warmed up. Not thread-safe: give each
/// shard its own.
public struct Snappy: Sendable {
    private var scratch: [UInt8] = []

    /// Creates a compressor with an empty scratch buffer.
    public init() {}

    /// Compresses `input` and returns the compressed block (a view of the reused scratch buffer).
    public mutating func compress(_ input: UnsafeRawBufferPointer) -> ArraySlice<UInt8> {
        let bound = snappy_max_compressed_length(input.count)
        if self.scratch.count < bound {
            self.scratch = [UInt8](repeating: 0, count: bound)
        }
        var length = bound
        let status = self.scratch.withUnsafeMutableBytes { output in
            snappy_compress(
                input.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                output.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        }
        // snappy_compress only fails when the output is smaller than snappy_max_compressed_length.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a sufficient buffer")
        return self.scratch[0..<length]
    }

    /// Compresses `input`, appending the compressed block to `buffer` without an intermediate copy.
    public static func compress(_ input: UnsafeRawBufferPointer, appendingTo buffer: inout ByteBuffer) {
        let bound = snappy_max_compressed_length(input.count)
        buffer.reserveCapacity(minimumWritableBytes: bound)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { output in
            var length = output.count
            let status = snappy_compress(
                input.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                output.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            precondition(status == SNAPPY_OK, "snappy_compress failed with a sufficient buffer")
            return length
        }
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
