/// The hand-off to the shards as a stage of its own, for `agentd-bench stages --stage handoff`: a
/// record's samples into the queue's state machine the way ``RemoteWriteQueue/append(_:position:)``
/// gives them (each sample made from the forwarder's label set as it is read), then every shard
/// takes its batches and settles them as if the receiver accepted each request at once. No
/// encoding, no HTTP, no locks and no tasks: what is left is the per-sample work between the
/// forwarder and the encoder, shard choice, queueing, batching, settling, and the label sets'
/// reference counts.
package struct HandoffStage {
    private var machine: ShardQueue
    private var position: UInt64 = 0
    private let now = ContinuousClock.now

    /// A machine with `shards` shards that take batches of `maxSamplesPerSend` samples.
    package init(shards: Int = 4, maxSamplesPerSend: Int = 2_000) {
        let configuration = RemoteWriteQueue.Configuration(
            shards: shards, capacity: 10 * maxSamplesPerSend, maxSamplesPerSend: maxSamplesPerSend)
        self.machine = ShardQueue(
            configuration: configuration, endpoint: RemoteWriteEndpoint(name: "stage", url: "http://127.0.0.1:1/"),
            mapping: "stage", resuming: nil)
    }

    /// Hands `series.count` samples over as one record (sample `i` of series `i`, at `timestamp`),
    /// sending and settling each full batch as the agent's shards would; returns how many samples
    /// were settled (a shard's partial batch waits for later records, as it waits for more samples
    /// or its deadline in the agent).
    package mutating func run(_ series: [RemoteWriteLabelSet], timestamp: Int64) -> Int {
        self.position += 1
        self.machine.open(self.position)
        var samples = series.indices.lazy.map {
            RemoteWriteQueue.Sample(series: series[$0], timestamp: timestamp, value: Double($0))
        }.makeIterator()
        var carried: RemoteWriteQueue.Sample? = nil
        var wakes: [Int] = []
        var settled = 0
        while true {
            let blocked = self.machine.enqueue(from: &samples, carried: &carried, now: self.now, wakes: &wakes)
            self.machine.countQueued()
            settled += self.drain()
            if blocked == nil { break }
        }
        _ = self.machine.finishAppend()
        return settled
    }

    /// Lets every shard send and settle its full batches.
    private mutating func drain() -> Int {
        var settled = 0
        for shard in 0..<self.machine.configuration.shards {
            while case .send(let request) = self.machine.nextAction(shard: shard, now: self.now) {
                let reply = self.machine.answered(
                    shard: shard, .accepted(bytes: 0, newest: request.samples.last?.timestamp), now: self.now)
                if case .settled(let settlement) = reply { settled += settlement.batch.count }
            }
        }
        return settled
    }
}
