import HTTPSecurity
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Hummingbird's HTTP/1 channel behind TLS, with two things Hummingbird's own `TLSChannel`
/// does not do: each connection gets the context in force when it arrives (a renewed
/// certificate serves the next connection), and a failed handshake — a peer whose certificate
/// no trusted CA signed, a client that does not trust ours — is counted and logged with the
/// peer's address.
struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: ServerTLSContext
    let failures: TLSHandshakeFailures

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let handlers = channel.pipeline.syncOperations
            try handlers.addHandler(NIOSSLServerHandler(context: context.current()))
            try handlers.addHandler(TLSHandshakeObserver(failures: failures, peer: channel.remoteAddress))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Sits behind the TLS handler until the handshake ends: a failure is reported, a success
/// removes it.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let failures: TLSHandshakeFailures
    private let peer: SocketAddress?

    init(failures: TLSHandshakeFailures, peer: SocketAddress?) {
        self.failures = failures
        self.peer = peer
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            failures.record(peer: peer, error: error)
        }
        context.fireErrorCaught(error)
    }
}

/// Failed TLS handshakes on the agent's port: counted for `/metrics`, logged at most once a
/// minute per peer host.
final class TLSHandshakeFailures: Sendable {
    private struct State {
        var count = 0
        var lastLogged: [String: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var count: Int { state.withLock { $0.count } }

    func record(peer: SocketAddress?, error: any Error) {
        let host = peer?.ipAddress ?? "unknown"
        let now = ContinuousClock.now
        let shouldLog = state.withLock { state in
            state.count += 1
            if let last = state.lastLogged[host], now - last < .seconds(60) { return false }
            if state.lastLogged.count >= 4_096 { state.lastLogged.removeAll() }
            state.lastLogged[host] = now
            return true
        }
        guard shouldLog else { return }
        logger.warning(
            "Refused a TLS connection: the handshake failed",
            metadata: [
                "http.peer_address": "\(peer.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown")",
                "tls.reason": "\(Self.reason(error))",
            ])
    }

    /// What a failed handshake means from the server's side.
    static func reason(_ error: any Error) -> String {
        let names = TLSFailure.reasonNames(error)
        for name in names {
            switch name {
            case "CERTIFICATE_VERIFY_FAILED":
                return "the client's certificate is not signed by the client CA, or has expired"
            case "PEER_DID_NOT_RETURN_A_CERTIFICATE":
                return "the client presented no certificate"
            case "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
                "SSLV3_ALERT_CERTIFICATE_EXPIRED":
                return "the client refused this server's certificate (\(name.lowercased()))"
            case "WRONG_VERSION_NUMBER", "HTTP_REQUEST":
                return "the client does not speak TLS (plain HTTP to an HTTPS port?)"
            default:
                continue
            }
        }
        return names.isEmpty ? "\(error)" : names.map { $0.lowercased() }.joined(separator: ", ")
    }
}
