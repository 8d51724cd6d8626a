#!/usr/bin/env bash
# The test command: installs what the tests need, builds, and runs the whole suite.
#   bash scripts/test.sh
# Set AGENTD_STRICT=1 to build agentd's own targets with warnings as errors (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The monitoring mixin's alerting rules (operations/), checked and unit-tested before the long
# build; MixinTests runs them again and executes every dashboard query against real agents.
promtool check rules operations/alerts.yaml
promtool test rules operations/alerts.test.yaml
swift build --build-tests
# In parallel (Swift Testing's default): no test blocks a thread of the concurrency pool
# while it waits (every wait is TestSupport's `waitUntil`, which sleeps with `Task.sleep`,
# and HTTP and process waits are async), so on two cores the end-to-end tests run beside the
# in-process ones. The end-to-end tests still take turns among themselves (the `EndToEnd`
# suite is serialized), and they are most of the run: about 9.5 minutes of tests after the
# build, 4 of them the fleet bed's short scenarios (FleetTests).
swift test --skip-build
