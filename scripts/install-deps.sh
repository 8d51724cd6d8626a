#!/usr/bin/env bash
# Installs, from Debian, everything agentd needs to build, test and run its scenario.
set -euo pipefail
packages=(liblz4-dev libsnappy-dev libxxhash-dev libsqlite3-dev zlib1g-dev pkg-config prometheus prometheus-node-exporter curl chromium tinyproxy openssl dnsmasq-base iproute2 iptables python3 faketime podman netavark runc busybox-static)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
