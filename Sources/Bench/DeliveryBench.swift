import Foundation
import RemoteWrite
import WAL

/// The cost of exact resume: storing a remote-write endpoint's progress (its cursor file),
/// which the queue does before every send and after every acknowledged request.
func runDeliveryBenchmark(arguments: [String]) throws {
    let directory = temporaryDirectory("delivery")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = try DeliveryCursorFile(path: DeliveryCursorFile.path(root: directory, endpoint: "default"))
    let shards = 4
    let stores = 20_000
    let watch = Stopwatch()
    for index in 0..<stores {
        let position = UInt64(index / 7) << 40 | UInt64(8 + index * 131 % 100_000_000)
        let marks = (0..<shards).map { DeliveryProgress.Mark(position: position, samples: index % 2_000 + $0) }
        try file.store(
            DeliveryProgress(
                committed: position, acknowledged: marks, sent: marks,
                mapping: "shards=4;xxh64%65536(__name__,instance,job);external={}"))
    }
    let cpuPerStore = watch.cpu / Double(stores)
    // Two stores per request (before the send, after the answer), 500 requests per million
    // samples at max_samples_per_send = 2000.
    let perMillion = cpuPerStore * 2 * 500
    print(
        String(
            format:
                "cursor file store (4 shards, one pwrite of a checksummed slot): %.1f µs CPU, %.1f µs wall per store; "
                + "%.4f CPU-s per million samples at 2,000 samples per request",
            cpuPerStore * 1e6, watch.wall / Double(stores) * 1e6, perMillion))
}
