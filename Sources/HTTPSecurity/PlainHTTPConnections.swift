import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads one response for ``PlainHTTPConnections``, on the connection's event loop, as it arrives.
/// A method that throws ends the exchange with its error, and the connection with it.
public protocol PlainHTTPResponseReader: Sendable {
    associatedtype Response: Sendable
    /// Takes the head (a redirect never reaches it).
    mutating func head(_ head: HTTPResponseHead) throws
    /// Takes the next part of the body.
    mutating func bodyPart(_ buffer: ByteBuffer) throws
    /// The response, once the body has ended.
    mutating func finish() throws -> Response
}

/// What an exchange on a plain connection came to.
public enum PlainHTTPOutcome<Response: Sendable>: Sendable {
    case response(Response)
    /// The server answered with a redirect (a 3xx): AsyncHTTPClient, which follows redirects as
    /// the client is set to, makes the request again.
    case redirect
}

/// Why an exchange on a plain connection failed: the connection, not what a reader refused.
public struct PlainHTTPError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// No connection, or no whole response, within the deadline.
    public var timedOut: Bool

    public var description: String { message }
}

/// A server and the event loop a connection to it runs on: where an idle connection waits.
struct PlainHTTPKey: Hashable, Sendable {
    var host: String
    var port: Int
    var loop: ObjectIdentifier
}

/// Kept-alive HTTP/1.1 connections to plain `http://` servers, and requests made on them without
/// AsyncHTTPClient: a request's head (and body) is written on the server's connection, and its
/// response goes through NIO's HTTP/1.1 decoder to a `Reader` on the connection's event loop; the
/// task that asked is resumed once, with what the reader made of the whole response.
/// AsyncHTTPClient's request state machines, delegate hops and per-request tasks cost about as
/// much CPU as a scrape's parse did.
///
/// Each idle connection waits in a list per server address and event loop; one not used for
/// ``idleTimeout`` is closed, as is one the server closes. A connection the server closed while
/// it was idle is found out when the request gets no answer (the connection closes or fails
/// before any byte of a response); the request is then made once more, on a new connection.
public final class PlainHTTPConnections<Reader: PlainHTTPResponseReader>: Sendable {
    /// How long an idle connection is kept (as long as agentd's AsyncHTTPClient pools keep theirs).
    public static var idleTimeout: TimeAmount { .seconds(120) }

    /// The most a connection reads at once (one buffer per wake-up).
    private let receiveBufferLimit: Int
    /// The idle connections by server and event loop. Their type does not name `Reader`, so
    /// that taking and keeping one is specialized code: the class is generic across a module
    /// boundary, and a `[PlainHTTPKey: [PlainHTTPConnection<Reader>]]` had its type metadata looked up at
    /// run time at every request (`take` was 1.35 % of agentd's CPU at 100,000 samples/s under
    /// `perf`, 0.15 % with this table; docs/performance.md).
    private let idle = Mutex<[PlainHTTPKey: [AnyObject]]>([:])
    private let openedCount = Atomic<Int>(0)

    /// Connections opened so far.
    public var opened: Int { openedCount.load(ordering: .relaxed) }

    /// - Parameter receiveBufferLimit: the largest buffer a connection reads into; each connection
    ///   keeps one, of up to this size, between requests.
    public init(receiveBufferLimit: Int) {
        self.receiveBufferLimit = receiveBufferLimit
    }

    /// Sends `head` (with `body`, if any) to `url` on a connection of `loop` and reads the response
    /// with `reader`, all within `deadline`. Throws ``PlainHTTPError`` when the connection fails or
    /// times out, and what `reader` throws.
    public func send(
        _ head: HTTPRequestHead, body: ByteBuffer? = nil, to url: PlainHTTPURL, on loop: any EventLoop,
        deadline: NIODeadline, reader: Reader
    ) async throws -> PlainHTTPOutcome<Reader.Response> {
        let key = PlainHTTPKey(host: url.host, port: url.port, loop: ObjectIdentifier(loop))
        while true {
            let connection: PlainHTTPConnection<Reader>
            let reused: Bool
            if let cached = take(key) {
                (connection, reused) = (cached, true)
            } else {
                (connection, reused) = (try await connect(url, key: key, on: loop, deadline: deadline), false)
            }
            switch try await connection.exchange(head, body: body, reader: reader, deadline: deadline) {
            case .response(let response): return .response(response)
            case .redirect: return .redirect
            case .notAnswered(let reason):
                // A kept-alive connection the server had closed: the request again, on another.
                if reused { continue }
                throw PlainHTTPError(message: "no answer from \(url.authority): \(reason)", timedOut: false)
            }
        }
    }

    /// An idle connection to `key`, if any.
    private func take(_ key: PlainHTTPKey) -> PlainHTTPConnection<Reader>? {
        let taken: AnyObject? = idle.withLock { idle in
            guard let connection = idle[key]?.popLast() else { return nil }
            if idle[key]?.isEmpty == true { idle[key] = nil }
            return connection
        }
        guard let taken else { return nil }
        // Only this pool's connections are kept in it.
        return unsafeDowncast(taken, to: PlainHTTPConnection<Reader>.self)
    }

    /// Keeps `connection` for the next request to its server.
    func release(_ connection: PlainHTTPConnection<Reader>) {
        idle.withLock { $0[connection.key, default: []].append(connection) }
    }

    /// Drops `connection` from the idle ones (it closed).
    func forget(_ connection: PlainHTTPConnection<Reader>) {
        idle.withLock { idle in
            guard var list = idle[connection.key], let index = list.firstIndex(where: { $0 === connection }) else {
                return
            }
            list.remove(at: index)
            idle[connection.key] = list.isEmpty ? nil : list
        }
    }

    private func connect(_ url: PlainHTTPURL, key: PlainHTTPKey, on loop: any EventLoop, deadline: NIODeadline)
        async throws(PlainHTTPError) -> PlainHTTPConnection<Reader>
    {
        let connection = PlainHTTPConnection(key: key, loop: loop, connections: self)
        let left = deadline - .now()
        guard left > .zero else {
            throw PlainHTTPError(message: "timed out before connecting to \(url.authority)", timedOut: true)
        }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(left)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4096, maximum: receiveBufferLimit)
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
        openedCount.add(1, ordering: .relaxed)
        return connection
    }

    /// What a failed connect is reported as: the address and the system's reason.
    static func connectFailure(_ error: any Error, to url: PlainHTTPURL) -> PlainHTTPError {
        if let error = error as? ChannelError, case .connectTimeout = error {
            return PlainHTTPError(message: "timed out connecting to \(url.authority)", timedOut: true)
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
        return PlainHTTPError(
            message: "connect to \(url.authority) failed: \(reasons.joined(separator: "; "))", timedOut: false)
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? ChannelError, case .connectTimeout = error { return "timed out" }
        return "\(error)"
    }
}

/// One kept-alive connection to a server, and the exchange on it: a request out, its response in
/// through NIO's HTTP/1.1 decoder to the exchange's reader. Every method but ``exchange`` runs on
/// the connection's event loop, which is why the mutable state needs no lock.
final class PlainHTTPConnection<Reader: PlainHTTPResponseReader>: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Answer {
        case response(Reader.Response)
        case redirect
        /// The connection closed or failed (`reason`) before any of the response came.
        case notAnswered(reason: String)
    }

    private struct Exchange {
        var reader: Reader
        var promise: EventLoopPromise<Answer>
        var timer: Scheduled<Void>?
        var answered = false
        var keepAlive = true
    }

    let key: PlainHTTPKey
    private let loop: any EventLoop
    private let connections: PlainHTTPConnections<Reader>
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var idleTimer: Scheduled<Void>?

    init(key: PlainHTTPKey, loop: any EventLoop, connections: PlainHTTPConnections<Reader>) {
        self.key = key
        self.loop = loop
        self.connections = connections
    }

    private var address: String { "\(key.host):\(key.port)" }

    /// Sends `head` and `body`, and returns what `reader` made of the response.
    func exchange(_ head: HTTPRequestHead, body: ByteBuffer?, reader: Reader, deadline: NIODeadline) async throws
        -> Answer
    {
        let promise = loop.makePromise(of: Answer.self)
        loop.execute { self.start(head, body: body, reader: reader, deadline: deadline, promise: promise) }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute { self.fail(CancellationError()) }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private func start(
        _ head: HTTPRequestHead, body: ByteBuffer?, reader: Reader, deadline: NIODeadline,
        promise: EventLoopPromise<Answer>
    ) {
        guard let context, context.channel.isActive, exchange == nil else {
            promise.succeed(.notAnswered(reason: "the connection closed"))
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        let address = self.address
        let timer = context.eventLoop.scheduleTask(deadline: deadline) {
            self.fail(PlainHTTPError(message: "no whole response from \(address) in time", timedOut: true))
        }
        exchange = Exchange(reader: reader, promise: promise, timer: timer)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard exchange != nil else {
            // Bytes nobody asked for: the connection cannot be trusted with the next request.
            context.close(promise: nil)
            return
        }
        exchange?.answered = true
        do {
            switch unwrapInboundIn(data) {
            case .head(let head):
                if (300..<400).contains(head.status.code) {
                    finish(.redirect, reusable: false)
                    return
                }
                exchange?.keepAlive = head.isKeepAlive
                try exchange?.reader.head(head)
            case .body(let buffer):
                try exchange?.reader.bodyPart(buffer)
            case .end:
                guard var reader = exchange?.reader else { return }
                finish(.response(try reader.finish()), reusable: exchange?.keepAlive ?? false)
            }
        } catch {
            fail(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange?.answered == false {
            finish(.notAnswered(reason: "\(error)"), reusable: false)
        } else if let error = error as? HTTPParserError {
            fail(PlainHTTPError(message: "invalid HTTP response from \(address): \(error)", timedOut: false))
        } else {
            fail(PlainHTTPError(message: "connection to \(address) failed: \(error)", timedOut: false))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        connections.forget(self)
        if let exchange {
            if exchange.answered {
                fail(
                    PlainHTTPError(
                        message: "\(address) closed the connection before the response ended", timedOut: false))
            } else {
                finish(.notAnswered(reason: "the server closed the connection"), reusable: false)
            }
        }
        context.fireChannelInactive()
    }

    /// Answers the exchange with `answer`; keeps the connection for the next request when `reusable`.
    private func finish(_ answer: Answer, reusable: Bool) {
        guard let exchange = exchange.take() else { return }
        exchange.timer?.cancel()
        guard let context else {
            exchange.promise.succeed(answer)
            return
        }
        if reusable && context.channel.isActive {
            idleTimer = context.eventLoop.scheduleTask(in: PlainHTTPConnections<Reader>.idleTimeout) {
                self.context?.close(promise: nil)
            }
            connections.release(self)
        } else {
            context.close(promise: nil)
        }
        exchange.promise.succeed(answer)
    }

    /// Fails the exchange with `error` and closes the connection.
    private func fail(_ error: any Error) {
        guard let exchange = exchange.take() else { return }
        exchange.timer?.cancel()
        context?.close(promise: nil)
        exchange.promise.fail(error)
    }
}
