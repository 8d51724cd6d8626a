import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a plain scrape came to.
enum PlainScrapeOutcome: Sendable {
    case response(ScrapeResponse)
    /// The target redirected the scrape (a 3xx): AsyncHTTPClient, which follows redirects as the
    /// job says, makes it again.
    case redirect
}

/// Kept-alive HTTP/1.1 connections to `http://` targets, and the scrapes made on them, without
/// AsyncHTTPClient: a request is a head written on the target's connection, its response goes
/// through NIO's HTTP/1.1 decoder to a ``PlainScrapeConnection`` that keeps the body as a
/// ``ScrapeResponseAccumulator`` does for AsyncHTTPClient, and the scrape's task is resumed once,
/// with the whole body. AsyncHTTPClient's request state machines, delegate hops and per-request
/// tasks cost about as much CPU as parsing the body did.
///
/// Each idle connection waits in a list per target address and event loop; one not used for
/// ``idleTimeout`` is closed, as is one the target closes. A connection the target closed while
/// it was idle is found out when the request gets no answer; the request is then made once more,
/// on a new connection.
final class PlainScrapeConnections: Sendable {
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        var loop: ObjectIdentifier
    }

    /// How long an idle connection is kept (AsyncHTTPClient's pool, as agentd configures it, kept 120 s).
    static let idleTimeout = TimeAmount.seconds(120)

    private let idle = Mutex<[Key: [PlainScrapeConnection]]>([:])
    /// Connections opened so far (the tests see reuse in it).
    let opened = Atomic<Int>(0)

    /// Scrapes `url` with `headers` on a connection of `loop`, within `deadline`.
    func fetch(
        _ url: PlainHTTPURL, headers: HTTPHeaders, on loop: any EventLoop, deadline: NIODeadline, limit: Int,
        timeout: Duration
    ) async throws(ScrapeError) -> PlainScrapeOutcome {
        let key = Key(host: url.host, port: url.port, loop: ObjectIdentifier(loop))
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)
        while true {
            let connection: PlainScrapeConnection
            let reused: Bool
            if let cached = take(key) {
                (connection, reused) = (cached, true)
            } else {
                (connection, reused) = (try await connect(url, key: key, on: loop, deadline: deadline), false)
            }
            let answer = try await connection.exchange(head, limit: limit, deadline: deadline, timeout: timeout)
            switch answer {
            case .response(let response): return .response(response)
            case .redirect: return .redirect
            case .notAnswered(let reason):
                // A kept-alive connection the target had closed: the request again, on another.
                if reused { continue }
                throw ScrapeError("no answer from \(url.authority): \(reason)")
            }
        }
    }

    /// An idle connection to `key`, if any.
    private func take(_ key: Key) -> PlainScrapeConnection? {
        idle.withLock { idle in
            guard let connection = idle[key]?.popLast() else { return nil }
            if idle[key]?.isEmpty == true { idle[key] = nil }
            return connection
        }
    }

    /// Keeps `connection` for the next scrape of its target.
    func release(_ connection: PlainScrapeConnection) {
        idle.withLock { $0[connection.key, default: []].append(connection) }
    }

    /// Drops `connection` from the idle ones (it closed).
    func forget(_ connection: PlainScrapeConnection) {
        idle.withLock { idle in
            guard var list = idle[connection.key], let index = list.firstIndex(where: { $0 === connection }) else {
                return
            }
            list.remove(at: index)
            idle[connection.key] = list.isEmpty ? nil : list
        }
    }

    private func connect(_ url: PlainHTTPURL, key: Key, on loop: any EventLoop, deadline: NIODeadline)
        async throws(ScrapeError) -> PlainScrapeConnection
    {
        let connection = PlainScrapeConnection(key: key, loop: loop, connections: self)
        let left = deadline - .now()
        guard left > .zero else {
            throw ScrapeError("scrape timed out before connecting to \(url.authority)", kind: .timedOut)
        }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(left)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // As AsyncHTTPClient's scrape connections: one receive buffer of at most 16 KiB.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(
                    minimum: 1024, initial: 4096, maximum: HTTPScraper.receiveBufferLimit)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
        do {
            _ = try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch {
            throw Self.connectFailure(error, to: url)
        }
        opened.add(1, ordering: .relaxed)
        return connection
    }

    /// What a failed connect is reported as: the address and the system's reason.
    static func connectFailure(_ error: any Error, to url: PlainHTTPURL) -> ScrapeError {
        if let error = error as? ChannelError, case .connectTimeout = error {
            return ScrapeError("scrape timed out connecting to \(url.authority)", kind: .timedOut)
        }
        var reasons: [String] = []
        if let error = error as? NIOConnectionError {
            reasons = error.connectionErrors.map { failure in
                let address = failure.target.ipAddress.map { ip in failure.target.port.map { "\(ip):\($0)" } ?? ip }
                return "\(reason(failure.error)) (at \(address ?? "\(failure.target)"))"
            }
            if reasons.isEmpty, let dns = error.dnsAError ?? error.dnsAAAAError {
                reasons = ["could not resolve \(url.host): \(dns)"]
            }
        }
        if reasons.isEmpty { reasons = [reason(error)] }
        return ScrapeError("connect to \(url.authority) failed: \(reasons.joined(separator: "; "))")
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? ChannelError, case .connectTimeout = error { return "timed out" }
        return "\(error)"
    }
}

/// One kept-alive connection to a target, and the exchange on it: a request's head out, its
/// response in through NIO's HTTP/1.1 decoder. Every method runs on the connection's event loop,
/// which is why the mutable state needs no lock.
final class PlainScrapeConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Answer {
        case response(ScrapeResponse)
        case redirect
        /// The connection closed or failed (`reason`) before any of the response came.
        case notAnswered(reason: String)
    }

    private struct Exchange {
        var response: ScrapeResponseAccumulator
        var promise: EventLoopPromise<Answer>
        var timer: Scheduled<Void>?
        var answered = false
        var keepAlive = true
    }

    let key: PlainScrapeConnections.Key
    private let loop: any EventLoop
    private let connections: PlainScrapeConnections
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var idleTimer: Scheduled<Void>?

    init(key: PlainScrapeConnections.Key, loop: any EventLoop, connections: PlainScrapeConnections) {
        self.key = key
        self.loop = loop
        self.connections = connections
    }

    /// Sends `head` and returns the response, read within `deadline`.
    func exchange(_ head: HTTPRequestHead, limit: Int, deadline: NIODeadline, timeout: Duration)
        async throws(ScrapeError) -> Answer
    {
        let promise = loop.makePromise(of: Answer.self)
        loop.execute { self.start(head, limit: limit, deadline: deadline, timeout: timeout, promise: promise) }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                loop.execute { self.fail(ScrapeError("scrape cancelled")) }
            }
        } catch let error as ScrapeError {
            throw error
        } catch {
            throw ScrapeError("\(error)")
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private func start(
        _ head: HTTPRequestHead, limit: Int, deadline: NIODeadline, timeout: Duration,
        promise: EventLoopPromise<Answer>
    ) {
        guard let context, context.channel.isActive, exchange == nil else {
            promise.succeed(.notAnswered(reason: "the connection closed"))
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        let timer = context.eventLoop.scheduleTask(deadline: deadline) {
            self.fail(ScrapeError("scrape timed out after \(timeout)", kind: .timedOut))
        }
        exchange = Exchange(response: ScrapeResponseAccumulator(limit: limit), promise: promise, timer: timer)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard exchange != nil else {
            // Bytes nobody asked for: the connection cannot be trusted with the next request.
            context.close(promise: nil)
            return
        }
        exchange?.answered = true
        do throws(ScrapeError) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                if (300..<400).contains(head.status.code) {
                    finish(.redirect, reusable: false)
                    return
                }
                exchange?.keepAlive = head.isKeepAlive
                try exchange?.response.head(head)
            case .body(let buffer):
                try exchange?.response.bodyPart(buffer)
            case .end:
                guard var response = exchange?.response else { return }
                finish(.response(try response.finish()), reusable: exchange?.keepAlive ?? false)
            }
        } catch {
            fail(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange?.answered == false {
            finish(.notAnswered(reason: "\(error)"), reusable: false)
        } else if let error = error as? HTTPParserError {
            fail(ScrapeError("invalid HTTP response from \(key.host):\(key.port): \(error)"))
        } else {
            fail(ScrapeError("connection to \(key.host):\(key.port) failed: \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        connections.forget(self)
        if let exchange = exchange {
            if exchange.answered {
                fail(ScrapeError("the target \(key.host):\(key.port) closed the connection before the response ended"))
            } else {
                finish(.notAnswered(reason: "the target closed the connection"), reusable: false)
            }
        }
        context.fireChannelInactive()
    }

    /// Answers the exchange with `answer`; keeps the connection for the next scrape when `reusable`.
    private func finish(_ answer: Answer, reusable: Bool) {
        guard let exchange = exchange.take() else { return }
        exchange.timer?.cancel()
        guard let context else {
            exchange.promise.succeed(answer)
            return
        }
        if reusable && context.channel.isActive {
            idleTimer = context.eventLoop.scheduleTask(in: PlainScrapeConnections.idleTimeout) {
                self.context?.close(promise: nil)
            }
            connections.release(self)
        } else {
            context.close(promise: nil)
        }
        exchange.promise.succeed(answer)
    }

    /// Fails the exchange with `error` and closes the connection.
    private func fail(_ error: ScrapeError) {
        guard let exchange = exchange.take() else { return }
        exchange.timer?.cancel()
        context?.close(promise: nil)
        exchange.promise.fail(error)
    }
}
