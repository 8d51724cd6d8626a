#!/usr/bin/env bash
# Builds release products as the scenario, the fleet bed and the benchmarks run them:
#   bash scripts/build-release.sh [PRODUCT ...]        (default: agentd; into .build-release)
# Every Swift module, the packages' included, is compiled with a section per function, and the C
# targets likewise, so that lld can lay out by link/agentd.order the functions a running agent
# executes, not the whole files they are in, and link/private-text.ld can gather the compiler's
# unnamed functions (docs/performance.md, "A section per function"). Package.swift cannot set a
# flag for another package's targets, hence the command line. `swift build -c release` alone
# builds the same agent with its code less well laid out.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${AGENTD_RELEASE_SCRATCH:-$(pwd)/.build-release}"
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(agentd)
for product in "${products[@]}"; do
    swift build -c release --scratch-path "$scratch" --product "$product" \
        -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections
done
