import Hummingbird
import NIOCore
import NIOSSL

/// The request context of the agent's HTTP server: Hummingbird's basics plus the TCP peer's
/// address, which a client cannot choose the way it chooses a header (gossip rejections are
/// logged and rate-limited under it).
/// A request context that knows who is on the other end: the TCP peer, and whether it proved
/// itself with a client certificate.
protocol PeerRequestContext: RemoteAddressRequestContext {
    /// Whether the connection is TLS and the client presented a verified certificate.
    var hasVerifiedClientCertificate: Bool { get async }
}

struct AgentRequestContext: RequestContext, PeerRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    private let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// Whether the connection is TLS and the client presented a certificate: the server verifies
    /// every certificate presented against the CA, so one that is there was verified.
    var hasVerifiedClientCertificate: Bool {
        get async { ((try? await channel.nioSSL_peerCertificate().get()) ?? nil) != nil }
    }
}
