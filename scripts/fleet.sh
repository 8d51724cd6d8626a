#!/usr/bin/env bash
# The fleet test bed, every scenario, one table (docs/fleet.md): rolling restart, scaling out and
# in, crashes, partitions, 10 % packet loss, a pause, clock skew, a stalling disk and a 30-member
# fleet, each agent in a network namespace of its own, judged slot by slot at a real Prometheus
# receiver.
#
#   bash scripts/fleet.sh                      all nine (about 26 minutes)
#   bash scripts/fleet.sh rolling,crash        some of them
#   bash scripts/fleet.sh rolling --short      the bounded versions CI runs (FleetTests)
#
# Needs root (ip netns, iptables). Builds a release agentd in .build-release; the bed stops every
# process it started by PID and deletes its namespaces, and bounds itself (--deadline).
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios="${1:-rolling,scale,crash,partition,loss,pause,skew,disk,large}"
shift || true
scratch="$(pwd)/.build-release"
AGENTD_RELEASE_SCRATCH="$scratch" bash scripts/build-release.sh agentd >/tmp/agentd-fleet-build.log 2>&1 || {
    tail -40 /tmp/agentd-fleet-build.log
    exit 1
}
work=$(mktemp -d /tmp/agentd-fleet.XXXXXX)
python3 bench/fleet.py --agentd "$scratch/release/agentd" --scenarios "$scenarios" --work "$work" \
    --json "$work/results.json" --deadline 3600 "$@"
echo "results: $work/results.json"
