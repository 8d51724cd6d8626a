import AsyncHTTPClient
import HTTPSecurity
import Logging
import NIOCore
import NIOHTTP1
import RemoteWrite
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct RemoteWriteClientTests {
    private static let pool = RemoteWriteClient.makePool()

    private func body() -> ByteBuffer {
        var encoder = WriteRequestEncoder()
        encoder.encode([
            RemoteWriteSeries(labels: [.init(name: "__name__", value: "up")], samples: [.init(timestamp: 1, value: 1)])
        ])
        var buffer = ByteBuffer()
        encoder.withEncodedBytes { Snappy.compress($0, appendingTo: &buffer) }
        return buffer
    }

    /// How a client reaches the receiver: through AsyncHTTPClient (a client of its own), or, from a
    /// pool, over agentd's plain HTTP/1.1 connections (the receiver's URL is `http://`).
    enum Route: CaseIterable, Sendable {
        case asyncHTTPClient, plain
    }

    private func client(
        _ receiver: TestReceiver, route: Route = .asyncHTTPClient, retryOnHTTP429: Bool = true,
        timeout: Duration = .seconds(5), configure: (inout RemoteWriteEndpoint) -> Void = { _ in }
    ) throws -> RemoteWriteClient {
        var endpoint = RemoteWriteEndpoint(
            name: "test", url: receiver.url, userAgent: "agentd/1.2.3", remoteTimeout: timeout,
            retryOnHTTP429: retryOnHTTP429, minBackoff: .milliseconds(10), maxBackoff: .milliseconds(40))
        configure(&endpoint)
        switch route {
        case .asyncHTTPClient:
            return try RemoteWriteClient(
                endpoint: endpoint, httpClient: receiver.httpClient, logger: Logger(label: "test"))
        case .plain:
            // The pool's clients are made only for a redirect: none here, none to shut down.
            return try RemoteWriteClient(endpoint: endpoint, pool: Self.pool, logger: Logger(label: "test"))
        }
    }

    @Test(arguments: Route.allCases) func requestsCarryExactlyTheRequiredHeadersAndABody(_ route: Route) async throws {
        try await TestReceiver.with { receiver in
            let client = try client(receiver, route: route) { endpoint in
                endpoint.headers = ["X-Scope-OrgID": "tenant-1"]
                endpoint.http.authorization = .basic(username: "user", password: .inline(Secret("pa:ss")))
            }
            let outcome = try await client.send(body())
            #expect(outcome == .sent(status: 204, attempts: 1))
            let request = try #require(receiver.requests.first)
            #expect(request.method == .POST)
            #expect(request.uri == receiver.path)
            #expect(request.headers["Content-Encoding"] == ["snappy"])
            #expect(request.headers["Content-Type"] == ["application/x-protobuf"])
            #expect(request.headers["User-Agent"] == ["agentd/1.2.3"])
            #expect(request.headers["X-Prometheus-Remote-Write-Version"] == ["0.1.0"])
            #expect(request.headers["X-Scope-OrgID"] == ["tenant-1"])
            #expect(request.headers["Authorization"] == ["Basic dXNlcjpwYTpzcw=="])
            let series = try WriteRequestDecoder.decode(snappyCompressed: request.body)
            #expect(series.first?.samples == [.init(timestamp: 1, value: 1)])
        }
    }

    @Test(arguments: Route.allCases) func aBearerTokenIsSent(_ route: Route) async throws {
        try await TestReceiver.with { receiver in
            _ = try await client(receiver, route: route) { endpoint in
                endpoint.http.authorization = .credentials(type: "Bearer", credentials: .inline(Secret("s3cret")))
            }.send(
                body())
            #expect(receiver.requests.first?.headers["Authorization"] == ["Bearer s3cret"])
        }
    }

    @Test func reservedHeadersCannotBeConfigured() async throws {
        _ = try await TestReceiver.with { receiver in
            #expect(throws: RemoteWriteConfigurationError.self) {
                try client(receiver) { endpoint in endpoint.headers = ["content-encoding": "gzip"] }
            }
        }
    }

    @Test(arguments: Route.allCases) func serverErrorsAreRetriedUntilAccepted(_ route: Route) async throws {
        try await TestReceiver.with(script: { $0 < 2 ? .status(500, body: "busy") : .status(200) }) { receiver in
            let retries = Mutex<[Int?]>([])
            let outcome = try await client(receiver, route: route).send(body()) { failure in
                retries.withLock { $0.append(failure.status) }
            }
            #expect(outcome == .sent(status: 200, attempts: 3))
            #expect(retries.withLock { $0 } == [500, 500])
            #expect(receiver.requests.count == 3)
        }
    }

    @Test(arguments: Route.allCases) func tooManyRequestsIsRetriedHonouringRetryAfter(_ route: Route) async throws {
        try await TestReceiver.with(script: { $0 == 0 ? .status(429, headers: [("Retry-After", "1")]) : .status(200) })
        {
            receiver in
            let delays = Mutex<[Duration]>([])
            let start = ContinuousClock.now
            let outcome = try await client(receiver, route: route).send(body()) { failure in
                delays.withLock { $0.append(failure.delay) }
            }
            #expect(outcome == .sent(status: 200, attempts: 2))
            #expect(delays.withLock { $0 } == [.seconds(1)])
            #expect(ContinuousClock.now - start >= .seconds(1))
        }
    }

    @Test(arguments: Route.allCases) func tooManyRequestsIsDroppedWhenRetryIsOff(_ route: Route) async throws {
        try await TestReceiver.with(script: { _ in .status(429, body: "slow down") }) { receiver in
            let outcome = try await client(receiver, route: route, retryOnHTTP429: false).send(body())
            #expect(outcome == .dropped(.init(reason: .rateLimited, status: 429, message: "slow down", attempts: 1)))
            #expect(receiver.requests.count == 1)
        }
    }

    @Test(arguments: Route.allCases) func aClientErrorIsDroppedWithTheReceiversMessageCutAt512Bytes(_ route: Route)
        async throws
    {
        let message = "out of order sample " + String(repeating: "x", count: 1000)
        try await TestReceiver.with(script: { _ in .status(400, body: message) }) { receiver in
            let outcome = try await client(receiver, route: route).send(body())
            guard case .dropped(let drop) = outcome else {
                Issue.record("expected a drop, got \(outcome)")
                return
            }
            #expect(drop.reason == .rejected)
            #expect(drop.status == 400)
            #expect(drop.message == String(message.prefix(512)))
            #expect(receiver.requests.count == 1)
        }
    }

    @Test(arguments: Route.allCases) func aHangingReceiverTimesOutAndIsRetried(_ route: Route) async throws {
        try await TestReceiver.with(script: { $0 == 0 ? .hang : .status(200) }) { receiver in
            let retries = Mutex<[RemoteWriteClient.RetryableFailure]>([])
            let outcome = try await client(receiver, route: route, timeout: .milliseconds(300)).send(body()) {
                failure in
                retries.withLock { $0.append(failure) }
            }
            // The first attempt ended on the client's deadline, not on an answer, and was retried until
            // one was answered (on a loaded machine an answered attempt may miss the deadline too).
            let failures = retries.withLock { $0 }
            #expect(outcome == .sent(status: 200, attempts: failures.count + 1))
            #expect(!failures.isEmpty && failures.allSatisfy { $0.status == nil }, "\(failures)")
            #expect(failures.first?.reason == .timeout, "\(failures)")
        }
    }

    @Test(arguments: Route.allCases) func backoffDoublesUpToTheMaximum(_ route: Route) async throws {
        try await TestReceiver.with(script: { $0 < 4 ? .status(503) : .status(200) }) { receiver in
            let delays = Mutex<[Duration]>([])
            _ = try await client(receiver, route: route).send(body()) { failure in
                delays.withLock { $0.append(failure.delay) }
            }
            #expect(
                delays.withLock { $0 } == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(40)])
        }
    }

    @Test(arguments: Route.allCases) func cancellationStopsRetrying(_ route: Route) async throws {
        try await TestReceiver.with(script: { _ in .status(503) }) { receiver in
            let client = try client(receiver, route: route)
            let body = body()
            let task = Task { try await client.send(body) }
            await receiver.waitForRequests(2)  // Retrying.
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
        }
    }
}
