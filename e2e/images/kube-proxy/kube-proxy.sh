#!/bin/sh
# kubeadm runs /usr/local/bin/kube-proxy in the node's network namespace. Its rules must go
# through the same iptables backend the node uses, so pick the one that already holds rules.
set -eu
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
mode=nft
if [ "${legacy}" -gt "${nft}" ]; then mode=legacy; fi
update-alternatives --set iptables "/usr/sbin/iptables-${mode}" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-${mode}" >/dev/null
exec /usr/local/lib/kube-proxy "$@"
