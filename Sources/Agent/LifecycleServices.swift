import AsyncHTTPClient
import Events
import HTTPSecurity
import Hummingbird
import HummingbirdCore
import Logging
import Scrape
import ServiceLifecycle
import Synchronization

/// Opens once: when the HTTP server listens (`true`) or when it could not (`false`). Gossip runs
/// over the agent's HTTP port, so the cluster joins only once it listens; readiness waits too.
final class ListeningSignal: Sendable {
    private struct State {
        var result: Bool?
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }
    private let state = Mutex(State())

    /// Whether the server listens; waits until that is known.
    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let known = state.withLock { state -> Bool? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    /// Settles the signal; later calls change nothing.
    func open(listening: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard state.result == nil else { return [] }
            state.result = listening
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: listening) }
    }
}

/// The HTTP server (API, web UI, gossip): Hummingbird's `Application`, on TLS when `tls` is
/// given, with its failure to listen turned into an error that names the address.
struct HTTPServerService: Service {
    /// TLS for the server: the context each connection gets, and where failed handshakes go.
    struct TLS: Sendable {
        var context: ServerTLSContext
        var failures: TLSHandshakeFailures
    }

    private let application: any Service
    private let address: String
    private let listening: ListeningSignal

    init(router: Router<AgentRequestContext>, address: String, listening: ListeningSignal, tls: TLS? = nil) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw AgentError("expected host:port, got \"\(address)\"")
        }
        let server: HTTPServerBuilder =
            if let tls {
                HTTPServerBuilder { responder in
                    TLSServerChannel(
                        base: HTTP1Channel(responder: responder), context: tls.context, failures: tls.failures)
                }
            } else {
                .http1()
            }
        self.application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(String(address[..<colon]), port: port), serverName: "agentd"),
            onServerRunning: { _ in listening.open(listening: true) }, logger: Logger(label: "agentd.http"))
        self.address = address
        self.listening = listening
    }

    func run() async throws {
        do {
            try await application.run()
        } catch {
            listening.open(listening: false)
            throw AgentError("could not serve HTTP on \(address): \(error)")
        }
        listening.open(listening: false)
    }
}

/// The HTTP client that scrapes and sends remote write, shut down once nothing uses it.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// The scraping HTTP clients (one per shape of job), shut down once nothing scrapes any more.
struct HTTPClientPoolService: Service {
    let pool: HTTPClientPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdown()
    }
}

/// The WAL: on a graceful shutdown, once nothing appends any more, it is synced and closed, so
/// the forwarders can deliver it to its end.
struct WALService: Service {
    let log: EventLog
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        try log.close()
        logger.info("WAL flushed and closed")
    }
}

/// `/-/ready`: ready once the server listens, not ready from the start of a graceful shutdown.
struct ReadinessService: Service {
    let state: AgentState
    let listening: ListeningSignal
    let address: String
    let logger: Logger

    func run() async {
        guard await listening.wait() else { return }
        state.setReady(true)
        logger.info("agentd is running", metadata: ["http.address": "\(address)", "node": "\(state.nodeName)"])
        guard (try? await gracefulShutdown()) != nil else { return }
        state.setReady(false)
        logger.info("Shutting down")
    }
}
