#!/usr/bin/env bash
# What the two commands of the README need before they run, installed when missing (and said):
# the npm packages (`npm ci`), and with `lab` the Debian packages the lab's routers run on. Fast
# when everything is there already. Used by `npm run demo`, `npm test` and CI alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm packages: when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing the npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ "${1:-}" = "lab" ] || exit 0

# The lab: user-mode Linux routers, their sshd and tools, and what reaches them from the host.
# systemd-networkd brings persisted tunnels back at boot (ifupdown on routers booted as Debian
# installs them: `lab up --boot ifupdown`, NetworkManager: `--boot networkmanager`); iptables and nftables hold MSS clamps.
# strongSwan (charon, swanctl, and the plugins with AES-GCM and X25519) protects GRE with IPsec.
packages=(user-mode-linux kmod openssh-server openssh-client iproute2 iputils-ping socat tcpdump systemd dbus iptables nftables ifupdown network-manager
  strongswan-swanctl charon-systemd libstrongswan-standard-plugins)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: the lab needs these Debian packages: ${missing[*]} (run as root to have them installed, or: sudo apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "setup: installing the lab's Debian packages: ${missing[*]}"
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
