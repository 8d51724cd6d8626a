import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local HTTP server that reads every request, counts the body bytes, and answers 204: a
/// remote-write receiver that costs as little as possible.
final class DiscardingSink: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let port: Int
    private let counters: Counters

    final class Counters: Sendable {
        let bodyBytes = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
    }

    var bodyBytes: Int { counters.bodyBytes.load(ordering: .relaxed) }
    var requests: Int { counters.requests.load(ordering: .relaxed) }

    init() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counters = Counters()
        channel = try bindLocalHTTPServer(group: group, port: 0) { DiscardHandler(counters: counters) }
        port = channel.localAddress?.port ?? 0
        self.group = group
        self.counters = counters
    }

    func shutdown() throws {
        try channel.close().wait()
        try group.syncShutdownGracefully()
    }
}

private final class DiscardHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let counters: DiscardingSink.Counters

    init(counters: DiscardingSink.Counters) { self.counters = counters }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            break
        case .body(let buffer):
            counters.bodyBytes.add(buffer.readableBytes, ordering: .relaxed)
        case .end:
            counters.requests.add(1, ordering: .relaxed)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .noContent, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// An HTTP/1.1 server on 127.0.0.1:`port` (0: any free port), each connection handled by a
/// fresh `makeHandler()` behind NIO's HTTP server pipeline.
func bindLocalHTTPServer<Handler: ChannelInboundHandler>(
    group: MultiThreadedEventLoopGroup, port: Int, makeHandler: @escaping @Sendable () -> Handler
) throws -> any Channel where Handler.InboundIn == HTTPServerRequestPart {
    try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 64)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(makeHandler())
            }
        }
        .bind(host: "127.0.0.1", port: port).wait()
}
