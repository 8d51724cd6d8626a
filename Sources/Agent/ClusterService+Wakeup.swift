import Synchronization

extension ClusterService {
    /// An alarm clock for one sleeper: `sleep(until:)` returns at the deadline, or earlier at a
    /// `signal()`. A signal given while nobody sleeps wakes the next sleep at once, so none is lost
    /// between a sleeper's last look at the state and its going to sleep.
    final class Wakeup: Sendable {
        private enum State {
            case idle
            case signalled
            case sleeping(CheckedContinuation<Void, Never>)
        }

        private let state = Mutex(State.idle)

        /// Wakes the sleeper, or the next one.
        func signal() {
            let sleeper: CheckedContinuation<Void, Never>? = state.withLock { state in
                if case .sleeping(let continuation) = state {
                    state = .idle
                    return continuation
                }
                state = .signalled
                return nil
            }
            sleeper?.resume()
        }

        /// Returns at `deadline`, at a signal, or when the task is cancelled, whichever comes first.
        func sleep(until deadline: ContinuousClock.Instant) async {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                group.addTask { await self.waitForSignal() }
                await group.next()
                group.cancelAll()
            }
        }

        private func waitForSignal() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if case .signalled = state {
                            state = .idle
                            return true
                        }
                        if Task.isCancelled { return true }
                        state = .sleeping(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let sleeper: CheckedContinuation<Void, Never>? = state.withLock { state in
                    guard case .sleeping(let continuation) = state else { return nil }
                    state = .idle
                    return continuation
                }
                sleeper?.resume()
            }
        }
    }
}
