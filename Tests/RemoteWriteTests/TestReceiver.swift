import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

@testable import RemoteWrite

/// A request as the test receiver saw it.
struct RecordedRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: [UInt8]
}

/// What the test receiver answers to one request.
enum ScriptedResponse: Sendable {
    case status(Int, headers: [(String, String)] = [], body: String = "")
    /// Never answer; the connection stays open until the client gives up.
    case hang
}

/// A tiny HTTP/1.1 server on 127.0.0.1 (random free port) that records every request to its
/// own path and answers from a script indexed by request number.
///
/// The path is the receiver's alone (`/receiver-N/api/v1/write`): a port the kernel hands out
/// is handed out again once freed, so a client of another test still sending to the port of a
/// receiver that has stopped can reach this one. Such a request is answered 404 and is neither
/// recorded nor scripted.
final class TestReceiver: Sendable {
    private static let made = Atomic<Int>(0)

    /// A server certificate and its key (PEM files): the receiver then speaks HTTPS.
    struct ServerTLS: Sendable {
        var certificatePath: String
        var keyPath: String
    }

    let port: Int
    /// The path clients are to send to; the receiver answers no other.
    let path = "/receiver-\(TestReceiver.made.add(1, ordering: .relaxed).newValue)/api/v1/write"
    /// `http` or `https`.
    let scheme: String
    /// A client for this receiver alone: a pooled connection to an earlier receiver that
    /// happened to use the same port would fail its first request.
    let httpClient: HTTPClient
    private let script: @Sendable (Int, RecordedRequest) -> ScriptedResponse
    /// The requests, how many of them the script has seen, and who waits for a count of those.
    private let recorded = Mutex<
        (requests: [RecordedRequest], scripted: Int, waiters: [(count: Int, CheckedContinuation<Void, Never>)])
    >(([], 0, []))

    private init(
        port: Int, scheme: String, script: @escaping @Sendable (Int, RecordedRequest) -> ScriptedResponse
    ) {
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        self.port = port
        self.scheme = scheme
        self.script = script
    }

    var url: String { "\(self.scheme)://127.0.0.1:\(self.port)\(self.path)" }

    var requests: [RecordedRequest] { self.recorded.withLock { $0.requests } }

    /// Returns once the receiver has seen `count` requests and its script has chosen the
    /// answer to the last (before it is sent).
    func waitForRequests(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let seen = self.recorded.withLock { recorded in
                if recorded.scripted >= count { return true }
                recorded.waiters.append((count, continuation))
                return false
            }
            if seen { continuation.resume() }
        }
    }

    /// Runs `body` with a receiver that is stopped when `body` returns.
    static func with<Result: Sendable>(
        tls: ServerTLS? = nil,
        script: @escaping @Sendable (Int) -> ScriptedResponse = { _ in .status(204) },
        _ body: @Sendable (TestReceiver) async throws -> Result
    ) async throws -> Result {
        try await with(tls: tls, answering: { index, _ in script(index) }, body)
    }

    /// Runs `body` with a receiver that answers each request by its number and content.
    static func with<Result: Sendable>(
        tls: ServerTLS? = nil,
        answering script: @escaping @Sendable (Int, RecordedRequest) -> ScriptedResponse,
        _ body: @Sendable (TestReceiver) async throws -> Result
    ) async throws -> Result {
        let context = try tls.map { tls in
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.keyPath, format: .pem))))
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    if let context {
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        let receiver = TestReceiver(
            port: server.channel.localAddress!.port!, scheme: tls == nil ? "http" : "https", script: script)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingDiscardingTaskGroup { connections in
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { try? await receiver.serve(connection) }
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            do {
                let result = try await body(receiver)
                try await receiver.httpClient.shutdown()
                return result
            } catch {
                try? await receiver.httpClient.shutdown()
                throw error
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(let chunk):
                    body.writeImmutableBuffer(chunk)
                case .end:
                    guard let head else { continue }
                    guard head.uri == self.path else {
                        try await Self.answer(.status(404, body: "not this receiver's path"), on: outbound)
                        continue
                    }
                    let request = RecordedRequest(
                        method: head.method, uri: head.uri, headers: head.headers, body: Array(body.readableBytesView))
                    let index = self.recorded.withLock { recorded in
                        recorded.requests.append(request)
                        return recorded.requests.count - 1
                    }
                    let response = self.script(index, request)
                    // Whoever waits for this request learns of it once the script has seen it.
                    let ready = self.recorded.withLock { recorded in
                        recorded.scripted += 1
                        let ready = recorded.waiters.filter { $0.count <= recorded.scripted }.map { $0.1 }
                        recorded.waiters.removeAll { $0.count <= recorded.scripted }
                        return ready
                    }
                    for waiter in ready { waiter.resume() }
                    switch response {
                    case .hang:
                        // Workload, not synchronization: a stuck receiver that never answers,
                        // until the client gives up or the test ends and cancels this task.
                        try await Task.sleep(for: .seconds(3600))
                    case .status:
                        try await Self.answer(response, on: outbound)
                    }
                }
            }
        }
    }

    private static func answer(
        _ response: ScriptedResponse, on outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        guard case .status(let code, let extraHeaders, let text) = response else { return }
        var headers = HTTPHeaders(extraHeaders)
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        try await outbound.write(
            .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
        try await outbound.write(.end(nil))
    }
}

/// A receiver stub that appends like Prometheus's TSDB head: per series, a sample older than
/// the newest one it holds is out of order, one at the same time with another value a
/// duplicate; the first such sample refuses the whole request (400, Prometheus's message) and
/// nothing of it is kept. A sample identical to the newest one is accepted and not stored twice.
final class TSDBLikeStore: Sendable {
    private let series = Mutex<[String: [RemoteWriteSample]]>([:])
    /// Samples older than this are refused as out of bounds (Prometheus's head keeps a window).
    let minValidTime: Int64

    init(minValidTime: Int64 = .min) { self.minValidTime = minValidTime }

    /// Every series' samples, in the order stored.
    var stored: [String: [RemoteWriteSample]] { self.series.withLock { $0 } }

    func answer(_ request: RecordedRequest) -> ScriptedResponse {
        guard let decoded = try? WriteRequestDecoder.decode(snappyCompressed: request.body) else {
            return .status(400, body: "snappy or protobuf decode error")
        }
        return self.series.withLock { stored in
            var staged = stored
            for timeSeries in decoded {
                let key = timeSeries.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                for sample in timeSeries.samples {
                    if sample.timestamp < self.minValidTime { return .status(400, body: "out of bounds") }
                    if let newest = staged[key]?.last {
                        if sample.timestamp < newest.timestamp { return .status(400, body: "out of order sample") }
                        if sample.timestamp == newest.timestamp {
                            if sample == newest { continue }
                            return .status(400, body: "duplicate sample for timestamp")
                        }
                    }
                    staged[key, default: []].append(sample)
                }
            }
            stored = staged
            return .status(204)
        }
    }
}

/// Runs `queue` beside `body`, cancelling it afterwards.
func running<Result: Sendable>(
    _ queue: RemoteWriteQueue, _ body: @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try? await queue.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
