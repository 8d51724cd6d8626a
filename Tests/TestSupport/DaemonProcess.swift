import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process a test starts that closes the descriptors it inherits, as daemons do (dnsmasq).
///
/// Foundation's `Process` on Linux learns that a child exited when a socket the child inherited
/// closes, and then waits for it with a blocking `wait4` on the one thread that watches every
/// child: a child that closes that socket at start-up parks that thread until it exits, and no
/// other `Process` in the test run is seen to exit meanwhile (their `waitUntilExit` hangs). So
/// such a process is spawned here with `posix_spawn` and reaped by its PID, without Foundation.
public final class DaemonProcess: @unchecked Sendable {
    public let pid: pid_t
    public let name: String
    public let logPath: String
    private let status = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (`arguments[0]` is not the program name); its output
    /// goes to a log file that failures can show.
    public init(_ executable: String, _ arguments: [String], name: String) throws {
        self.name = name
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "agentd-test-\(name)-\(UUID().uuidString.prefix(8)).log"
            ).path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, executable, &actions, nil, argv, environ)
        guard result == 0 else {
            throw TestSupportError("could not start \(executable): \(String(cString: strerror(result)))")
        }
        pid = spawned
    }

    deinit { stop() }

    /// Whether it has not exited yet (reaping it if it has).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// SIGTERM, then SIGKILL after `grace`; blocking, for `defer`. Returns the exit status (or signal).
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32 {
        if let status = reap(blocking: false) { return status }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let status = reap(blocking: false) { return status }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        return reap(blocking: true) ?? SIGKILL
    }

    /// SIGKILL, awaiting the exit.
    public func kill9() async {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        _ = await waitUntil(within: .seconds(30), every: .milliseconds(20)) { !self.isRunning }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The exit status once the process has exited (its signal if one ended it), reaping it once.
    private func reap(blocking: Bool) -> Int32? {
        status.lock()
        defer { status.unlock() }
        if let exitStatus { return exitStatus }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        if reaped < 0 {
            // Not ours to wait for any more (reaped elsewhere): it is gone.
            exitStatus = SIGKILL
            return exitStatus
        }
        guard reaped == pid else { return nil }
        let signal = raw & 0x7f
        exitStatus = signal == 0 ? (raw >> 8) & 0xff : signal
        return exitStatus
    }
}
