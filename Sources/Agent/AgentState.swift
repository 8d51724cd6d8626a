import Config
import Synchronization

/// What the API shows that is not owned by another component.
final class AgentState: Sendable {
    let config: AgentConfig
    let nodeName: String
    let advertise: String
    private let ready = Mutex(false)

    init(config: AgentConfig, nodeName: String, advertise: String) {
        self.config = config
        self.nodeName = nodeName
        self.advertise = advertise
    }

    var isReady: Bool { ready.withLock { $0 } }
    func setReady(_ value: Bool) { ready.withLock { $0 = value } }
}
