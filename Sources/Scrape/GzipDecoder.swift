import CZlib

/// Decodes a gzip body as it arrives, into a ``ScrapeBody``: what each chunk decodes to goes
/// through a 64 KiB buffer, so a body that decodes past its limit (a gzip bomb) is refused after
/// at most the limit and 64 KiB of decoded bytes, whatever its compression ratio.
///
/// Concatenated gzip members are read one after the other, as Go's `gzip.Reader` (Prometheus's
/// scraper) does.
final class GzipDecoder {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 64 << 10)
    /// Whether the current member has ended (at its trailer).
    private var memberEnded = false

    init() throws(ScrapeError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 window bits, +16: gzip framing only (Prometheus asks for gzip and nothing else).
        let status = inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw ScrapeError("could not start a gzip decoder (zlib status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decodes `input` into `body`; throws when the body passes its limit or the data is not gzip.
    func decode(_ input: UnsafeRawBufferPointer, into body: inout ScrapeBody) throws(ScrapeError) {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            if memberEnded {
                guard stream.pointee.avail_in > 0 else { return }
                // More bytes after a member's trailer: the next member.
                inflateReset(stream)
                memberEnded = false
            }
            let stream = self.stream
            let (status, produced) = output.withUnsafeMutableBufferPointer { buffer in
                stream.pointee.next_out = buffer.baseAddress
                stream.pointee.avail_out = UInt32(buffer.count)
                let status = inflate(stream, Z_NO_FLUSH)
                stream.pointee.next_out = nil
                return (status, buffer.count - Int(stream.pointee.avail_out))
            }
            if produced > 0 { try body.append(output[..<produced]) }
            switch status {
            case Z_STREAM_END:
                memberEnded = true
            case Z_OK:
                // The output buffer was filled: more may be pending even without input.
                if produced < output.count && stream.pointee.avail_in == 0 { return }
            case Z_BUF_ERROR:
                return  // no progress without more input
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw ScrapeError("invalid gzip body: \(reason)")
            }
        }
    }

    /// Checks that the body ended with a complete gzip member.
    func finish() throws(ScrapeError) {
        guard memberEnded else { throw ScrapeError("invalid gzip body: it ends before its gzip trailer") }
    }
}
