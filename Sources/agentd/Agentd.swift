import ArgumentParser
import Foundation
import Primitives

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's entry point: the command runs on Swift's global executor while the main thread
/// waits in `pause()` until the command exits the process.
///
/// An `async` main would hand the main thread to `dispatch_main`, which ends it with
/// `pthread_exit`; that unwinds the main thread's stack, and the unwinder's search of the unwind
/// tables for each of its frames left 0.75 MiB of them resident for the life of the process
/// (docs/performance.md, "The main thread parked, not unwound"). Nothing in agentd runs on the
/// main actor, which this leaves without a thread to run on.
///
/// agentd writes every time in UTC, and Foundation's default time zone is set to GMT before
/// anything runs: a `Calendar` made without one (Hummingbird makes one for the `Date` header)
/// otherwise looks the system's zone up in ICU's data, which kept 0.4 MiB of ICU's tables and
/// code resident (docs/performance.md, "A section per function"). The environment's `TZ` is
/// left as it is.
///
/// glibc's malloc keeps one arena, not one for each thread that meets another in it (up to eight
/// a core): small blocks come from each thread's own cache without a lock either way, and the
/// memory freed in one arena is not kept from the others. 100,000 samples/s: peak RSS 38.6–39.5 →
/// 36.0–36.7 MiB, the CPU per sample within the machine's noise (docs/performance.md, "A section
/// per function").
@main
enum Entry {
    static func main() {
        Allocator.keepOneArena()
        NSTimeZone.default = TimeZone(secondsFromGMT: 0)!
        Task.detached {
            await Agentd.main()
            exit(0)
        }
        while true { pause() }
    }
}

struct Agentd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentd",
        abstract: "A clustered Prometheus metrics agent with a durable, replayable event log.",
        version: "0.1.0",
        subcommands: [
            RunCommand.self, FmtCommand.self, ReplayCommand.self, OwnershipHistoryCommand.self,
            CheckMetricsCommand.self,
            MembersCommand.self, TargetsCommand.self, IndexCommand.self, WALCommand.self,
        ]
    )
}
