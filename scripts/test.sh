#!/usr/bin/env bash
# The test command: installs what the tests need, builds, and runs the whole suite.
#   bash scripts/test.sh
# Set AGENTD_STRICT=1 to build agentd's own targets with warnings as errors (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
# In parallel (Swift Testing's default): no test blocks a thread of the concurrency pool
# while it waits (every wait is TestSupport's `waitUntil`, which sleeps with `Task.sleep`,
# and HTTP and process waits are async), so on two cores the end-to-end tests run beside the
# in-process ones. The heavy end-to-end suites still take turns (`EndToEnd.Heavy` is
# serialized). About 2 minutes of tests after the build; 4.5 minutes one at a time.
swift test --skip-build
