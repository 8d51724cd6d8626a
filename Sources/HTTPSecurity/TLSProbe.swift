import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One more TLS connection to a server that refused the last one, to see what the HTTP client
/// does not say: the certificates the server presents, and the alert it answers a request with
/// (a client certificate it requires or refuses). It sends no credentials: no `Authorization`
/// header, only the client certificate the configuration presents anyway.
enum TLSProbe {
    struct Outcome: Sendable {
        /// The server's certificates, leaf first; nil if the handshake did not get that far.
        var chain: [NIOSSLCertificate]?
        /// The first error the connection met, if any.
        var error: (any Error)?
    }

    /// Connects to `host:port` with `configuration` and, if the handshake completes, sends
    /// `GET path` and waits for the first answer or error; all within `limit`.
    /// - Parameter acceptServer: whether to go on past the server's certificate (to see what the
    ///   server says next) or stop there (its certificates are all that is wanted).
    static func run(
        host: String, port: Int, serverName: String?, path: String, configuration: TLSConfiguration,
        acceptServer: Bool, within limit: Duration
    ) async -> Outcome {
        let chain = Mutex<[NIOSSLCertificate]?>(nil)
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            return Outcome(error: error)
        }
        // SNI takes a name, never an address.
        let sni = serverName ?? ((try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil)
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: agentd\r\nConnection: close\r\n\r\n"
        let timeout = TimeAmount.nanoseconds(
            limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000)
        let group = MultiThreadedEventLoopGroup.singleton
        let done = group.next().makePromise(of: (any Error)?.self)
        let bootstrap = ClientBootstrap(group: group).connectTimeout(timeout).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let tls = try NIOSSLClientHandler(
                    context: context, serverHostname: sni,
                    customVerificationCallback: { certificates, promise in
                        chain.withLock { $0 = certificates }
                        promise.succeed(acceptServer ? .certificateVerified : .failed)
                    })
                try channel.pipeline.syncOperations.addHandler(tls)
                try channel.pipeline.syncOperations.addHandler(ProbeHandler(request: request, done: done))
            }
        }
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
            let error = try await done.futureResult.get()
            deadline.cancel()
            channel.close(promise: nil)
            return Outcome(chain: chain.withLock { $0 }, error: error)
        } catch {
            done.succeed(error)
            return Outcome(chain: chain.withLock { $0 }, error: error)
        }
    }
}

/// Sends the request (sent once the handshake is done), and reports the first answer, error or close.
private final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let done: EventLoopPromise<(any Error)?>

    init(request: String, done: EventLoopPromise<(any Error)?>) {
        self.request = request
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        // The TLS handler holds it until the handshake is done.
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        done.succeed(nil)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.succeed(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(nil)
        context.fireChannelInactive()
    }
}
