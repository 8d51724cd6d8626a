import Hummingbird
import NIOCore

/// The request context of the agent's HTTP server: Hummingbird's basics plus the TCP peer's
/// address, which a client cannot choose the way it chooses a header (gossip rejections are
/// logged and rate-limited under it).
struct AgentRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
