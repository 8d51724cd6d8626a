/// A scraped body being received: never more than its limit, nor (while it grows) more capacity
/// than the limit.
struct ScrapeBody {
    private(set) var bytes: [UInt8] = []
    /// 0: no limit.
    let limit: Int

    /// `expectedLength`: the `Content-Length`, if any (reserved up to the limit).
    init(limit: Int, expectedLength: Int? = nil) {
        self.limit = limit
        if let expectedLength, expectedLength > 0 {
            bytes.reserveCapacity(limit > 0 ? min(expectedLength, limit) : expectedLength)
        }
    }

    /// Appends `chunk`, or throws when that would pass the limit.
    mutating func append<Chunk: Collection<UInt8>>(_ chunk: Chunk) throws(ScrapeError) {
        let needed = bytes.count + chunk.count
        if limit > 0 && needed > limit {
            throw ScrapeError("body size limit exceeded: more than \(limit) bytes (decoded)", kind: .bodySizeLimit)
        }
        if needed > bytes.capacity {
            let doubled = max(needed, 2 * bytes.capacity)
            bytes.reserveCapacity(limit > 0 ? min(doubled, limit) : doubled)
        }
        bytes.append(contentsOf: chunk)
    }
}
