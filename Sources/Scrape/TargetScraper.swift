import HTTPSecurity

/// Fetches a target's exposition: `HTTPScraper` in production, an in-memory fake in tests.
public protocol TargetScraper: Sendable {
    /// The body of `url`, decoded; `bodySizeLimit` (0: none) bounds the decoded bytes, and `timeout`
    /// the whole exchange. `credentials` (the job's, one object per job) say how to connect and
    /// authenticate; nil: plain defaults.
    func fetch(url: String, timeout: Duration, bodySizeLimit: Int, credentials: HTTPClientCredentials?)
        async throws(ScrapeError) -> ScrapeResponse
}

/// A fetched exposition: its bytes and the `Content-Type` it came with.
public struct ScrapeResponse: Sendable {
    public var body: [UInt8]
    public var contentType: String?

    public init(body: [UInt8], contentType: String?) {
        self.body = body
        self.contentType = contentType
    }
}
