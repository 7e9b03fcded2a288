"""Service admission: what kube-apiserver's Service registry fills in and checks."""

import ipaddress

from .catalogue import SERVICES
from .errors import invalid


class ServiceAdmission:
    """What kube-apiserver's Service registry fills in and checks: defaults,
    IP families, cluster IPs from the service CIDRs and node ports, kept
    across updates that omit them (kube's patchAllocatedValues)."""

    def __init__(self, cidrs, node_ports):
        self.networks = {}
        for text in cidrs.split(","):
            network = ipaddress.ip_network(text.strip())
            self.networks[f"IPv{network.version}"] = network
        self.primary = f"IPv{ipaddress.ip_network(cidrs.split(',')[0].strip()).version}"
        self.node_ports = node_ports
        self.ips, self.ports = set(), set()
        self.next_ip = {family: 1 for family in self.networks}
        self.next_port = node_ports[0]

    @staticmethod
    def held(svc):
        spec = (svc or {}).get("spec") or {}
        return ({ip for ip in spec.get("clusterIPs") or () if ip != "None"},
                {p["nodePort"] for p in spec.get("ports") or () if p.get("nodePort")})

    def track(self, change):
        """Keeps the taken addresses and ports in step with the store:
        admission only picks free ones, so a refused write holds none."""
        ips, ports = self.held(change.prev)
        self.ips -= ips
        self.ports -= ports
        if change.type != "DELETED":
            ips, ports = self.held(change.obj)
            self.ips |= ips
            self.ports |= ports

    def admit(self, svc, old=None):
        name = svc["metadata"]["name"]
        spec = svc.get("spec")
        if not isinstance(spec, dict):
            raise invalid(SERVICES, name, "spec", "Required value")
        ports = spec.get("ports") or []
        if not isinstance(ports, list):
            raise invalid(SERVICES, name, "spec.ports", "a list is required")
        for i, port in enumerate(ports):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int) or \
                    not 0 < port["port"] < 65536:
                raise invalid(SERVICES, name, f"spec.ports[{i}].port",
                              "an integer from 1 to 65535 is required")
        old_spec = (old or {}).get("spec") or {}
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if field not in spec and field in old_spec:
                spec[field] = old_spec[field]
        if old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec["clusterIP"]:
            raise invalid(SERVICES, name, "spec.clusterIP", "field is immutable")
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p
                     for p in old_spec.get("ports") or ()}
        for port in spec.get("ports") or ():
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            kept = old_ports.get((port.get("port"), port["protocol"]), {}).get("nodePort")
            if kept and not port.get("nodePort"):
                port["nodePort"] = kept
        if spec["type"] == "ExternalName":
            return
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        self.admit_ips(name, spec, old_spec)
        if spec["type"] == "NodePort" or (spec["type"] == "LoadBalancer"
                                          and spec["allocateLoadBalancerNodePorts"]):
            self.admit_node_ports(name, spec, old_spec)

    def admit_ips(self, name, spec, old_spec):
        ips = list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP")
                                               else []))
        if ips == ["None"]:
            spec.update(clusterIP="None", clusterIPs=["None"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", [self.primary])
            return
        policy = spec.setdefault("ipFamilyPolicy", "SingleStack")
        families = list(spec.get("ipFamilies") or
                        [f"IPv{ipaddress.ip_address(ip).version}" for ip in ips] or
                        [self.primary])
        if policy != "SingleStack" and len(families) == 1:
            families += [f for f in self.networks if f != families[0]]
        if policy not in ("SingleStack", "PreferDualStack", "RequireDualStack"):
            raise invalid(SERVICES, name, "spec.ipFamilyPolicy", f"Unsupported value: {policy!r}")
        if len(set(families)) != len(families) or any(f not in self.networks for f in families) \
                or (policy == "SingleStack" and len(families) > 1) \
                or (policy == "RequireDualStack" and len(families) < 2):
            raise invalid(SERVICES, name, "spec.ipFamilies",
                          f"{families} is not allowed with ipFamilyPolicy {policy} on this "
                          f"cluster (service CIDRs {sorted(map(str, self.networks.values()))})")
        held = set(old_spec.get("clusterIPs") or ())
        for i, family in enumerate(families):
            if i < len(ips):
                ip = ipaddress.ip_address(ips[i])
                if f"IPv{ip.version}" != family or ip not in self.networks[family]:
                    raise invalid(SERVICES, name, f"spec.clusterIPs[{i}]",
                                  f"{ips[i]} is not in the {family} service CIDR "
                                  f"{self.networks[family]}")
                if ips[i] in self.ips and ips[i] not in held:
                    raise invalid(SERVICES, name, f"spec.clusterIPs[{i}]",
                                  f"{ips[i]}: provided IP is already allocated")
            else:
                ips.append(self.allocate_ip(name, family))
        spec.update(clusterIP=ips[0], clusterIPs=ips, ipFamilies=families)

    def allocate_ip(self, name, family):
        network = self.networks[family]
        size = min(network.num_addresses - 2, 1 << 20)
        for step in range(size):
            offset = (self.next_ip[family] - 1 + step) % size + 1
            ip = str(network.network_address + offset)
            if ip not in self.ips:
                self.next_ip[family] = offset + 1
                return ip
        raise invalid(SERVICES, name, "spec.clusterIPs", f"no {family} address free in "
                      f"{network}")

    def admit_node_ports(self, name, spec, old_spec):
        held = self.held({"spec": old_spec})[1]
        low, high = self.node_ports
        # Taken only when the Service is stored (track), so that a create
        # refused later holds nothing.
        chosen = {p["nodePort"] for p in spec.get("ports") or () if p.get("nodePort")}
        for i, port in enumerate(spec.get("ports") or ()):
            wanted = port.get("nodePort")
            if wanted:
                if not low <= wanted <= high:
                    raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort",
                                  f"{wanted}: provided port is not in the valid range. The "
                                  f"range of valid ports is {low}-{high}")
                if wanted in self.ports and wanted not in held:
                    raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort",
                                  f"{wanted}: provided port is already allocated")
                continue
            for step in range(high - low + 1):
                candidate = low + (self.next_port - low + step) % (high - low + 1)
                if candidate not in self.ports and candidate not in chosen:
                    port["nodePort"] = candidate
                    chosen.add(candidate)
                    self.next_port = candidate + 1
                    break
            else:
                raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort", "no port free")
