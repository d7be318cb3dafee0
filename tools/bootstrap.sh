#!/usr/bin/env bash
# What the two commands of the README need before they run, installed when missing (and said):
# the npm packages (`npm ci`), and with `lab` the Debian packages the lab's routers run on. Fast
# when everything is there already. Used by `npm run demo`, `npm test` and CI alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node.js 22 or later: the package's `engines`, and what the Pulumi SDK releases after 3.248 need.
# `bootstrap.sh node` (as root) puts Node.js NODE_VERSION, the npm registry's build of it, in
# /usr/local (bin/node and its headers), ahead of an older system Node on the PATH; npm stays.
NODE_VERSION=22.23.5
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "${1:-}" = "node" ]; then
  if [ "$(node_major)" -ge 22 ]; then
    echo "setup: Node.js $(node --version) is here already"
    exit 0
  fi
  [ "$(id -u)" -eq 0 ] || { echo "setup: installing Node.js into /usr/local needs root" >&2; exit 1; }
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "setup: no Node.js build for $(uname -m) on the npm registry; install Node.js 22 by hand" >&2; exit 1 ;;
  esac
  echo "setup: installing Node.js $NODE_VERSION (npm registry: node-linux-$arch) into /usr/local"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
  tar -xzf "$work"/node-linux-"$arch"-*.tgz -C "$work"
  install -D -m 755 "$work/package/bin/node" /usr/local/bin/node
  mkdir -p /usr/local/include
  rm -rf /usr/local/include/node
  cp -r "$work/package/include/node" /usr/local/include/node
  hash -r
  echo "setup: node is now $(command -v node), $(node --version)"
  exit 0
fi
if [ "$(node_major)" -lt 22 ]; then
  echo "setup: this project needs Node.js 22 or later, and node here is $(node --version 2>/dev/null || echo missing)." >&2
  echo "setup: install it (https://nodejs.org), or as root: bash tools/bootstrap.sh node" >&2
  exit 1
fi

# npm packages: when node_modules is missing, older than the lockfile, or built for another Node
# (native addons, such as ssh2's, are built against the running Node's own headers).
abi="$(node -p 'process.versions.modules')"
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -f "$prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir="$prefix"
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat node_modules/.node-abi 2>/dev/null)" != "$abi" ]; then
  echo "setup: installing the npm packages (npm ci) for Node.js $(node --version)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$abi" >node_modules/.node-abi
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
