import Cluster
import Primitives

/// The clustering self-metrics under Alloy's names, rendered from the cluster service.
enum ClusterExposition {
    static func render(_ cluster: ClusterService) -> [UInt8] {
        let peers = cluster.peers
        let counters = cluster.counters
        var text = """
            # HELP cluster_node_info Information about this member.
            # TYPE cluster_node_info gauge
            cluster_node_info{name="\(cluster.name)",address="\(cluster.address)",state="\(peers.first(where: \.isSelf)?.state ?? "viewer")"} 1
            # HELP cluster_node_peers Members by state, as this member sees them.
            # TYPE cluster_node_peers gauge

            """
        for state in ["participant", "viewer", "terminating", "suspect", "dead", "left"] {
            text += "cluster_node_peers{state=\"\(state)\"} \(peers.filter { $0.state == state }.count)\n"
        }
        text += """
            # HELP cluster_node_lamport_time This member's Lamport clock.
            # TYPE cluster_node_lamport_time gauge
            cluster_node_lamport_time \(cluster.lamport)
            # HELP cluster_transport_rx_bytes_total Gossip bytes received.
            # TYPE cluster_transport_rx_bytes_total counter
            cluster_transport_rx_bytes_total \(counters.rxBytes)
            # HELP cluster_transport_tx_bytes_total Gossip bytes sent.
            # TYPE cluster_transport_tx_bytes_total counter
            cluster_transport_tx_bytes_total \(counters.txBytes)
            # HELP cluster_transport_tx_failures_total Gossip messages that could not be delivered.
            # TYPE cluster_transport_tx_failures_total counter
            cluster_transport_tx_failures_total \(counters.sendFailures)
            # HELP cluster_transport_rejected_messages_total Messages refused: wrong cluster, bad authenticator, malformed, oversized, replayed, stale, or a node's own.
            # TYPE cluster_transport_rejected_messages_total counter

            """
        for reason in ["malformed", "oversized", "cluster_mismatch", "authentication", "replayed", "stale", "self"] {
            text +=
                "cluster_transport_rejected_messages_total{reason=\"\(reason)\"} \(counters.rejected[reason] ?? 0)\n"
        }
        text += """
            # HELP cluster_node_name_conflicts_total Other members seen using this member's node name.
            # TYPE cluster_node_name_conflicts_total counter
            cluster_node_name_conflicts_total \(counters.nameConflicts)
            # HELP agentd_handoff_late_slots_total Slots missed or scraped twice because a change arrived after its effective time.
            # TYPE agentd_handoff_late_slots_total counter
            agentd_handoff_late_slots_total \(cluster.lateSlots)
            # HELP prometheus_scrape_targets_moved_total Targets whose owner changed from one member to another.
            # TYPE prometheus_scrape_targets_moved_total counter
            prometheus_scrape_targets_moved_total \(counters.movedTargets)

            """
        text += """
            # HELP cluster_node_clock_skew_seconds Each peer's clock offset from this member's, from ping round trips.
            # TYPE cluster_node_clock_skew_seconds gauge

            """
        for (peer, skew) in cluster.clockSkew.sorted(by: { $0.key < $1.key }) {
            text += "cluster_node_clock_skew_seconds{peer=\"\(peer)\"} \(skew.seconds)\n"
        }
        return Array(text.utf8)
    }
}
