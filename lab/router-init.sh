#!/bin/sh
# PID 1 of a lab router: a user-mode Linux kernel whose root filesystem is the host's, read-only.
# It sets the router up the way a freshly booted Linux router looks (ip_gre not loaded, forwarding
# off), starts sshd on the management address, and then waits forever.
#
# Parameters come on the kernel command line as grelab_KEY=VALUE words (see lab/lab.ts).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
# Read-only, as in a container: systemd-networkd then knows no udev will announce the links (the
# lab runs none) and configures them at once.
mount -t sysfs -o ro sysfs /sys

param() {
  for word in $(cat /proc/cmdline); do
    case "$word" in
      "grelab_$1="*) echo "${word#*=}"; return 0 ;;
    esac
  done
  echo "router-init: missing kernel parameter grelab_$1" >&2
  return 1
}

# A parameter that may be absent (empty then).
optparam() { param "$1" 2>/dev/null || true; }

NAME=$(param name) || exec sleep infinity
LABDIR=$(param dir) || exec sleep infinity
ROLE=$(optparam role)
MGMT=$(param mgmt)
UNDERLAY=$(param underlay)
GATEWAY=$(optparam gateway)

fail() {
  echo "router-init ($NAME): $*" >&2
  # Stay up so the console log and `lab status` show what went wrong.
  while :; do sleep 3600; done
}

# Writable scratch space; the lab directory is bound under /run first because the checkout may
# itself live below /tmp.
mount -t tmpfs -o mode=755 run /run || fail "cannot mount /run"
mkdir -p /run/lab /run/sshd /run/netns
mount --bind "$LABDIR" /run/lab || fail "cannot bind $LABDIR"
mount -t tmpfs -o mode=1777 tmp /tmp
# A clean home: the host's root shell rc files would otherwise run on every SSH command.
mount -t tmpfs -o mode=700 root /root

# What survives a reboot of this router: its own /etc/modules-load.d, /etc/sysctl.d,
# /etc/systemd/network, /etc/network/interfaces.d, NetworkManager's profiles and dispatcher scripts
# and /etc/systemd/system (the units enabled at boot: `lab up --boot`), kept on the host under
# .lab/routers/NAME/persist/ (the rest of /etc is the host's, read-only).
PERSIST="$LABDIR/routers/$NAME/persist"
mount -t hostfs -o "$PERSIST/modules-load.d" none /etc/modules-load.d || fail "cannot mount modules-load.d"
mount -t hostfs -o "$PERSIST/sysctl.d" none /etc/sysctl.d || fail "cannot mount sysctl.d"
mount -t hostfs -o "$PERSIST/systemd-network" none /etc/systemd/network || fail "cannot mount systemd/network"
mount -t hostfs -o "$PERSIST/systemd-system" none /etc/systemd/system || fail "cannot mount systemd/system"
if [ -d /etc/network/interfaces.d ]; then
  mount -t hostfs -o "$PERSIST/interfaces.d" none /etc/network/interfaces.d || fail "cannot mount interfaces.d"
fi
# NetworkManager's profiles and dispatcher scripts are the router's own, its configuration the lab's
# (tunnels managed, the lab's links left alone), its state (/var/lib) lost at every boot.
if [ -d /etc/NetworkManager ]; then
  for pair in nm-connections:system-connections nm-dispatcher:dispatcher.d nm-conf.d:conf.d; do
    mount -t hostfs -o "$PERSIST/${pair%%:*}" none "/etc/NetworkManager/${pair#*:}" || fail "cannot mount NetworkManager/${pair#*:}"
  done
  mount -t tmpfs -o mode=755 nm-state /var/lib/NetworkManager || fail "cannot mount /var/lib/NetworkManager"
fi
# strongSwan's connections and secrets (swanctl.conf includes conf.d/*.conf) are the router's own.
if [ -d /etc/swanctl/conf.d ]; then
  mount -t hostfs -o "$PERSIST/swanctl-conf.d" none /etc/swanctl/conf.d || fail "cannot mount swanctl/conf.d"
fi
# Whether this router's systemd would start UNIT at boot (read from the unit files, as systemd does).
enabled() { systemctl is-enabled -q -- "$1" 2>/dev/null; }

hostname "$NAME"
ip link set lo up
ip link set vec0 name eth0 && ip addr add "$MGMT" dev eth0 && ip link set eth0 up || fail "management NIC"
ip link set vec1 name eth1 && ip addr add "$UNDERLAY" dev eth1 && ip link set eth1 up || fail "underlay NIC"
# IPv6 next to IPv4 on the underlay (nodad: usable at once, as on a link whose addresses are known).
UNDERLAY6=$(optparam underlay6)
modprobe ipv6 2>/dev/null
if [ -n "$UNDERLAY6" ]; then
  ip -6 addr add "$UNDERLAY6" dev eth1 nodad || fail "IPv6 underlay"
fi
# Behind a NAT: everything off its own links goes through the NAT router.
[ -z "$GATEWAY" ] || ip route add default via "$GATEWAY" || fail "default route via $GATEWAY"

if [ "$ROLE" = "nat" ]; then
  # The NAT router in front of another (`up --nat`): its public side is eth1 on the shared
  # underlay, its private side eth2. What leaves the private side is source-NATed to the public
  # address; GRE (IP protocol 47) arriving at the public address is forwarded to the router
  # behind it — the port forward a GRE tunnel through NAT needs. Conntrack tracks both.
  PRIVATE=$(param private)
  NATTED=$(param natted)
  ip link set vec2 name eth2 && ip addr add "$PRIVATE" dev eth2 && ip link set eth2 up || fail "private NIC"
  sysctl -q -w net.ipv4.ip_forward=1
  iptables-legacy -w -t nat -A POSTROUTING -o eth1 -j MASQUERADE || fail "source NAT"
  iptables-legacy -w -t nat -A PREROUTING -i eth1 -p 47 -j DNAT --to-destination "$NATTED" || fail "GRE forward"
fi

# What systemd-modules-load and systemd-sysctl would do at boot, for the persisted files only.
for conf in /etc/modules-load.d/*.conf; do
  [ -f "$conf" ] || continue
  sed -e 's/[#;].*//' "$conf" | while read -r module; do
    [ -n "$module" ] && modprobe "$module"
  done
done
for conf in /etc/sysctl.d/*.conf; do
  [ -f "$conf" ] && sysctl -q -p "$conf"
done
# What systemd would start at boot of the units of ours enabled there (the MSS clamps, oneshots
# ordered before the network): each ExecStart line in order, one with a leading `-` allowed to fail.
for unit in /etc/systemd/system/multi-user.target.wants/pulumi-gre-*.service; do
  [ -f "$unit" ] || continue
  sed -n 's/^ExecStart=//p' "$unit" | while IFS= read -r line; do
    case "$line" in
      -*) sh -c "${line#-}" 2>/dev/null || true ;;
      *) sh -c "$line" || echo "router-init ($NAME): ${unit##*/}: $line failed" >&2 ;;
    esac
  done
done

# The network stack this router's systemd has enabled, started as at boot. systemd-networkd (Ubuntu
# with netplan, systemd-based images) brings back the tunnels and routes persisted under
# /etc/systemd/network; links without a .network file of their own (eth0, eth1, the LAN port) stay
# as set up above. NetworkManager creates the tunnels of its keyfiles and runs their dispatcher
# scripts. ifupdown's networking.service (Debian as installed) runs `ifup -a`, which
# brings up the `auto` stanzas of /etc/network/interfaces and what it sources. With neither, no
# network file is read at boot.
# The system bus comes first: `networkctl reload` reaches networkd through it.
mkdir -p /run/dbus /run/systemd/netif /run/network
dbus-daemon --system --fork --nopidfile || fail "dbus-daemon did not start"
if enabled systemd-networkd.service; then
  chown systemd-network:systemd-network /run/systemd/netif
  /lib/systemd/systemd-networkd >/run/networkd.log 2>&1 &
fi
if enabled NetworkManager.service; then
  # It creates the tunnels of its profiles; D-Bus starts its dispatcher, which runs our scripts.
  /usr/sbin/NetworkManager >/run/NetworkManager.log 2>&1 || echo "router-init ($NAME): NetworkManager did not start" >&2
fi
if enabled networking.service; then
  ifup -a >/run/ifupdown.log 2>&1 || echo "router-init ($NAME): ifup -a failed, see /run/ifupdown.log" >&2
fi

# strongSwan, as strongswan.service starts it: charon (with the kernel's XFRM interface and ESP,
# which this kernel has as modules and cannot load on demand), then every connection loaded.
if enabled strongswan.service; then
  modprobe -a xfrm_user esp4 esp6 xt_policy 2>/dev/null
  /usr/sbin/charon-systemd >/run/charon.log 2>&1 &
  for _ in $(seq 50); do [ -S /run/charon.vici ] && break; sleep 0.1; done
  swanctl --load-all --noprompt >/run/swanctl.log 2>&1 || echo "router-init ($NAME): swanctl --load-all failed, see /run/swanctl.log" >&2
fi

# The PC: a network namespace behind the router's LAN port (a NAT router has none).
if [ "$ROLE" != "nat" ]; then
  LANGW=$(param lan)
  PC=$(param pc)
  modprobe veth || fail "veth"
  ip netns add pc || fail "netns pc"
  ip link add lan0 type veth peer name eth0 netns pc || fail "veth pair"
  ip addr add "$LANGW" dev lan0 && ip link set lan0 up || fail "LAN port"
  ip -n pc link set lo up
  ip -n pc addr add "$PC" dev eth0 && ip -n pc link set eth0 up || fail "PC address"
  ip -n pc route add default via "${LANGW%/*}" || fail "PC default route"
  LAN6GW=$(optparam lan6)
  PC6=$(optparam pc6)
  if [ -n "$LAN6GW" ]; then
    ip -6 addr add "$LAN6GW" dev lan0 nodad || fail "IPv6 LAN port"
    ip -n pc -6 addr add "$PC6" dev eth0 nodad || fail "PC IPv6 address"
    ip -n pc -6 route add default via "${LAN6GW%/*}" || fail "PC IPv6 default route"
  fi
  # The L2 PC: a host on the router's bridge br-l2, routed nowhere. A gretap that joins the
  # bridges of two routers puts their L2 PCs on one Ethernet segment.
  L2PC=$(optparam l2pc)
  L2PC6=$(optparam l2pc6)
  if [ -n "$L2PC" ]; then
    modprobe bridge || fail "bridge"
    ip link add name br-l2 type bridge && ip link set br-l2 up || fail "bridge br-l2"
    ip netns add l2 || fail "netns l2"
    ip link add l2port type veth peer name eth0 netns l2 || fail "L2 veth pair"
    ip link set l2port master br-l2 && ip link set l2port up || fail "L2 port"
    ip -n l2 link set lo up
    ip -n l2 addr add "$L2PC" dev eth0 && ip -n l2 -6 addr add "$L2PC6" dev eth0 nodad || fail "L2 PC address"
    ip -n l2 link set eth0 up || fail "L2 PC link"
  fi
fi

cat >/run/sshd_config <<EOF
ListenAddress ${MGMT%/*}
HostKey /run/lab/routers/$NAME/ssh_host_ed25519_key
PidFile /run/sshd.pid
UsePAM no
UseDNS no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
AuthorizedKeysFile /run/lab/authorized_keys
MaxStartups 64:30:128
MaxSessions 10
EOF
/usr/sbin/sshd -f /run/sshd_config -E /run/sshd.log || fail "sshd did not start"
echo "router-init ($NAME): ready"

# PID 1 must never exit; reap what gets orphaned meanwhile.
while :; do
  sleep 3600 &
  wait
done
