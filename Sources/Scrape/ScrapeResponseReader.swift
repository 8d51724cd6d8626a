import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOHTTP1

/// One scrape's response as it arrives, whichever client reads it: refuses a status other than
/// 200, decodes gzip as it arrives, and keeps the body within the job's `body_size_limit` (see
/// ``ScrapeBody``). Unchecked `Sendable`: it is handed to one event loop and used there alone.
struct ScrapeResponseAccumulator: PlainHTTPResponseReader, @unchecked Sendable {
    private var body: ScrapeBody
    private var gzip: GzipDecoder?
    private var contentType: String?

    /// `limit`: the decoded body's limit in bytes, 0 for none.
    init(limit: Int) {
        body = ScrapeBody(limit: limit)
    }

    /// Takes the response head: throws for a status other than 200.
    mutating func head(_ head: HTTPResponseHead) throws(ScrapeError) {
        guard head.status == .ok else {
            throw ScrapeError("server returned HTTP status \(head.status.code) \(head.status.reasonPhrase)")
        }
        contentType = head.headers.first(name: "Content-Type")
        let encoding = head.headers.first(name: "Content-Encoding")?.lowercased()
        if encoding == "gzip" || encoding == "x-gzip" {
            // Content-Length counts compressed bytes: no use for sizing the decoded body.
            gzip = try GzipDecoder()
        } else if let length = head.headers.first(name: "Content-Length").flatMap(Int.init) {
            body = ScrapeBody(limit: body.limit, expectedLength: length)
        }
    }

    /// Takes the next part of the body.
    mutating func bodyPart(_ buffer: ByteBuffer) throws(ScrapeError) {
        if let gzip {
            try buffer.withUnsafeReadableBytes { bytes throws(ScrapeError) in try gzip.decode(bytes, into: &body) }
        } else {
            try body.append(buffer.readableBytesView)
        }
    }

    /// The whole response, once the body has ended.
    mutating func finish() throws(ScrapeError) -> ScrapeResponse {
        try gzip?.finish()
        return ScrapeResponse(body: body.bytes, contentType: contentType)
    }
}

/// Reads one scrape's response for AsyncHTTPClient, on its connection's event loop, with a
/// ``ScrapeResponseAccumulator``. A refusal fails the request at once, so the rest of an
/// oversized body is never read. AsyncHTTPClient calls each method on the task's event loop, one
/// after the other, which is why the mutable state needs no lock.
final class ScrapeResponseReader: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = ScrapeResponse

    private var response: ScrapeResponseAccumulator

    /// `limit`: the decoded body's limit in bytes, 0 for none.
    init(limit: Int) {
        response = ScrapeResponseAccumulator(limit: limit)
    }

    func didReceiveHead(task: HTTPClient.Task<ScrapeResponse>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        do throws(ScrapeError) {
            try response.head(head)
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<ScrapeResponse>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        do throws(ScrapeError) {
            try response.bodyPart(buffer)
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<ScrapeResponse>) throws -> ScrapeResponse {
        try response.finish()
    }
}
