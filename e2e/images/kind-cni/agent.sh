#!/bin/bash
# Keeps this node's pod network configured: a bridge CNI configuration for the podCIDR the
# controller-manager gave the node, and a route to every other node's podCIDR through that
# node's address. Runs in the node's network namespace (hostNetwork) with NET_ADMIN.
set -o nounset -o pipefail
: "${NODE_NAME:?NODE_NAME (spec.nodeName) is required}"
conf_dir=/host/etc/cni/net.d
conf="${conf_dir}/10-chronik-bridge.conflist"

write_conf() {
  local cidr=$1 tmp
  tmp=$(mktemp "${conf_dir}/.chronik-XXXXXX")
  cat > "${tmp}" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "chronik-kind",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "${cidr}" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  chmod 0644 "${tmp}"
  # The runtime reads whatever file it finds: replace atomically, never half-written.
  mv -f "${tmp}" "${conf}"
  echo "chronik-cni: ${NODE_NAME} pods on ${cidr}"
}

current=""
while true; do
  nodes=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>&1)
  if [[ $? -ne 0 ]]; then
    echo "chronik-cni: cannot list nodes yet: ${nodes}" >&2
    sleep 2
    continue
  fi
  while read -r name cidr address; do
    [[ -n "${name}" && -n "${cidr}" ]] || continue
    address=${address%% *} # a dual-stack node lists its IPv4 address first
    if [[ "${name}" == "${NODE_NAME}" ]]; then
      if [[ "${cidr}" != "${current}" || ! -f "${conf}" ]]; then
        write_conf "${cidr}" && current="${cidr}"
      fi
    elif [[ -n "${address}" ]]; then
      ip route replace "${cidr}" via "${address}" || echo "chronik-cni: no route to ${cidr} via ${address}" >&2
    fi
  done <<< "${nodes}"
  sleep 10
done
