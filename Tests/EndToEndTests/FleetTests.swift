import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The fleet test bed (`bench/fleet.py`) in its short versions: real agentd processes, each in a
    /// network namespace of its own behind a bridge, real node exporters and a real Prometheus
    /// receiver in theirs; rolling restarts, scaling out and in, crashes and a partition, judged
    /// slot by slot at the receiver and against every member's WAL.
    @Suite(.serialized, .enabled(if: getuid() == 0, "needs root for ip netns and iptables"))
    struct FleetTests {
        private static let script =
            String(#filePath.dropLast("Tests/EndToEndTests/FleetTests.swift".count)) + "bench/fleet.py"

        /// Runs the bed's short `scenarios` and returns one result object per scenario.
        private func runBed(_ scenarios: String) async throws -> [[String: Any]] {
            let directory = TemporaryDirectory("fleet-\(scenarios)")
            let results = directory.sub("results.json")
            let bed = try ChildProcess(
                "/usr/bin/python3",
                [
                    Self.script, "--agentd", AgentProcess.binary, "--scenarios", scenarios, "--short",
                    "--targets", "6", "--work", directory.sub("work"), "--json", results, "--deadline", "600",
                ], name: "fleet.py")
            // SIGTERM makes the bed stop what it started and delete its namespaces.
            defer { _ = bed.stop(grace: .seconds(60)) }
            // The bed bounds itself (--deadline), stops what it started by PID and deletes its namespaces.
            let status = await bed.waitForExit(within: .seconds(660))
            #expect(status == 0, "fleet.py: \(bed.log.suffix(4000))")
            let data = try Data(contentsOf: URL(fileURLWithPath: results))
            let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            for result in parsed {
                if let notBuilt = result["bed_not_built"] {
                    print("fleet: \(result["scenario"] ?? "?"): the bed was built a second time: \(notBuilt)")
                }
                #expect(
                    result["error"] == nil,
                    "\(result["scenario"] ?? "?"): \(result["error"] ?? "")\n\(bed.log.suffix(4000))")
            }
            return parsed
        }

        private func int(_ result: [String: Any], _ key: String) -> Int { (result[key] as? NSNumber)?.intValue ?? -1 }

        @Test(.timeLimit(.minutes(12))) func aRollingRestartAndScalingMissAndDoubleNoSlot() async throws {
            let results = try await runBed("rolling,scale")
            try #require(results.count == 2)
            for result in results {
                let name = result["scenario"] as? String ?? "?"
                // A miss or a double comes with every sample near the missed slots, by member.
                let near = "samples near the missed slots: \(result["samples_near_missed"] ?? "")"
                #expect(
                    int(result, "missed_slots") == 0, "\(name): missed \(result["missed_by_target"] ?? ""); \(near)")
                #expect(
                    int(result, "doubled_slots") == 0, "\(name): doubled \(result["doubled_by_target"] ?? ""); \(near)")
                #expect(int(result, "lost") == 0, "\(name): lost \(result["lost_by_member"] ?? "")")
                #expect(result["drained"] as? Bool == true, "\(name): a queue did not drain")
            }
            // After each change of membership every target is where the ring of the running members
            // puts it (computed by the bed itself, bench/hashring.py), so each change moves the
            // targets the ring moves, whether that is several or, with six targets, by chance none;
            // and all the changes together move about their share.
            let scale = results[1]
            let offRing = scale["off_ring"] as? [String]
            #expect(offRing?.isEmpty == true, "owners off the ring: \(offRing ?? []): \(scale["changes"] ?? "")")
            let moved = int(scale, "moved")
            let ideal = (scale["ideal_moved"] as? NSNumber)?.doubleValue ?? 0
            #expect(Double(moved) <= 2 * ideal + 2, "moved \(moved), ideal \(ideal): \(scale["changes"] ?? "")")
        }

        /// Every member's `fdatasync` held 1.5 s, for 3 s of every 10 (an LD_PRELOAD shim), through a
        /// rolling restart: scrapes do not wait for the disk, nor does the ownership view of a
        /// member that joins, so no slot is missed or doubled, and nothing appended is lost.
        @Test(.timeLimit(.minutes(12))) func aStalledDiskCostsNoSlot() async throws {
            let results = try await runBed("disk")
            let result = try #require(results.first)
            let near = "samples near the missed slots: \(result["samples_near_missed"] ?? "")"
            #expect(int(result, "missed_slots") == 0, "missed \(result["missed_by_target"] ?? ""); \(near)")
            #expect(int(result, "doubled_slots") == 0, "doubled \(result["doubled_by_target"] ?? ""); \(near)")
            #expect(int(result, "lost") == 0, "lost \(result["lost_by_member"] ?? "")")
            #expect(result["drained"] as? Bool == true, "a queue did not drain")
            #expect((result["stalls_began_at"] as? [Any])?.isEmpty == false, "the disk never stalled: \(result)")
            print(
                "fleet: stalled disk: stalls at \(result["stalls_began_at"] ?? ""), loops that fell behind: \(result["loops_fell_behind"] ?? "")"
            )
        }

        @Test(.timeLimit(.minutes(12))) func aCrashCostsAtMostTheDetectionTimeAndAPartitionHealsWithNothingLost()
            async throws
        {
            let results = try await runBed("crash,partition")
            try #require(results.count == 2)
            let crash = results[0]
            #expect(
                (crash["gap_over_detection"] as? [String: Any])?.isEmpty == true,
                "gaps over the detection time: \(crash["gap_over_detection"] ?? "") (\(crash["events"] ?? ""))")
            #expect((crash["unexplained"] as? [String])?.isEmpty == true, "no history: \(crash["unexplained"] ?? "")")
            #expect(int(crash, "doubled_slots") == 0, "doubled \(crash["doubled_by_target"] ?? "")")
            #expect(int(crash, "lost") == 0, "lost \(crash["lost_by_member"] ?? "")")
            // A partition doubles the cut-off member's slots while it lasts (counted, not failed);
            // after the heal one owner per target again, no slot missed (before members took their
            // deaths back from the instant, all were out of the ring after the heal), and nothing
            // appended is lost.
            let partition = results[1]
            let cases = partition["cases"] as? [[String: Any]] ?? []
            #expect(cases.count == 2, "\(partition)")
            #expect(int(partition, "missed_slots") == 0, "missed \(partition["missed_by_target"] ?? "")")
            for partitionCase in cases {
                #expect(int(partitionCase, "missed_slots") == 0, "\(partitionCase)")
            }
            #expect(int(partition, "lost") == 0, "lost \(partition["lost_by_member"] ?? "")")
            #expect(partition["drained"] as? Bool == true)
            print("fleet: crash \(crash["events"] ?? ""); partition \(cases)")
        }
    }
}
