#!/usr/bin/env python3
"""Checks the gateway shape of a deployment (needs PyYAML): the rendered chart with mode=gateway, or
deploy/k8s/gateway through kustomize.

  check_gateway.py FILE... [--namespace NS] [--monitoring NS]      (FILE "-": stdin)

What issue 16 asks of it, read from the objects themselves:
  - gateway pods (component gateway) run `serve --config` from a ConfigMap; engine pods `serve --model`;
  - a model of the gateway's config has upstreams naming a headless Service (clusterIP: None) of
    the engine pods, on the engines' port, with discover: dns, and upstream_model equal to the
    engines' --model-id;
  - every NetworkPolicy that selects engine pods admits only gateway pods and the monitoring
    namespace (policies add up: one open policy opens the engines), and the gateways may reach them;
  - secrets are not inlined: no auth_db, upstream_api_key or password-bearing URL in a ConfigMap,
    args or literal env; CITADEL_AUTH_DB and every upstream_api_key_env come from secretKeyRef; the
    render holds no Secret but TLS ones;
  - an HPA and a PodDisruptionBudget for each Deployment; redis_url set when gateways can be several.
Exit 1 on any failure, naming it.
"""
import re
import sys

import yaml

from check_manifests import dig, fail, failures, load_all, need

CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^@\s/]+@", re.I)
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|AUTH_DB", re.I)


def selects(selector, labels):
    """A label selector (matchLabels only, as Citadel's manifests use) selects these labels."""
    if selector is None:
        return False
    if selector.get("matchExpressions"):
        return True  # be conservative: assume it may select them
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def pod_labels(dep):
    return dig(dep, "spec", "template", "metadata", "labels") or {}


def container(dep):
    return (dig(dep, "spec", "template", "spec", "containers") or [{}])[0]


def expand(arg, c, configmaps):
    """Kubernetes' $(VAR) in args, from the container's literal env and envFrom ConfigMaps."""
    env = {}
    for ref in c.get("envFrom") or []:
        env.update((configmaps.get(dig(ref, "configMapRef", "name")) or {}).get("data") or {})
    env.update({e.get("name"): e["value"] for e in c.get("env") or [] if "value" in e})
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: str(env.get(m.group(1), m.group(0))), str(arg))


def gateway_config(gw, configmaps):
    """The YAML the gateway container reads with --config, from its ConfigMap volume."""
    c = container(gw)
    args = c.get("args") or []
    path = args[args.index("--config") + 1] if "--config" in args[:-1] else ""
    volumes = {v.get("name"): v for v in dig(gw, "spec", "template", "spec", "volumes") or []}
    for m in c.get("volumeMounts") or []:
        mount = m.get("mountPath", "").rstrip("/") + "/"
        if path.startswith(mount):
            cm_name = dig(volumes.get(m.get("name")), "configMap", "name")
            cm = configmaps.get(cm_name)
            if need(cm, "gateway", f"--config {path}: no ConfigMap {cm_name} in the render"):
                text = (cm.get("data") or {}).get(path[len(mount):])
                if need(text, "gateway", f"ConfigMap {cm_name} has no key {path[len(mount):]}"):
                    return yaml.safe_load(text) or {}
            return {}
    fail("gateway", f"--config {path!r} is not on a ConfigMap volume")
    return {}


def check_secrets(gw, config, configmaps, secrets):
    for name, cm in configmaps.items():
        for key, text in (cm.get("data") or {}).items():
            need(not CREDENTIAL_URL.search(text or ""), f"ConfigMap/{name}", f"{key} holds a URL with a password")
    need("auth_db" not in config, "gateway config", "auth_db inlined: it comes from CITADEL_AUTH_DB (a Secret)")
    for m in config.get("models") or []:
        need("upstream_api_key" not in m, f"gateway model {m.get('id')}", "upstream_api_key inlined")
    c = container(gw)
    for a in c.get("args") or []:
        need(not CREDENTIAL_URL.search(str(a)), "gateway args", "a URL with a password")
    env = {e.get("name"): e for e in c.get("env") or []}
    for name, e in env.items():
        if "value" in e:
            need(not CREDENTIAL_URL.search(str(e["value"])), f"gateway env {name}", "a URL with a password")
            need(not SECRET_NAME.search(name), f"gateway env {name}", "a secret as a literal value")
    wanted = ["CITADEL_AUTH_DB"] if "CITADEL_AUTH_DB" in env else []
    wanted += [m["upstream_api_key_env"] for m in config.get("models") or [] if m.get("upstream_api_key_env")]
    for name in wanted:
        need(dig(env.get(name), "valueFrom", "secretKeyRef", "name"), f"gateway env {name}",
             "must come from a Secret (valueFrom.secretKeyRef)")
    for name, s in secrets.items():
        need(s.get("type") == "kubernetes.io/tls", f"Secret/{name}", "credentials must be made outside the chart")


def check_engine_policies(policies, engine_labels, gateway_labels, monitoring):
    engine_pols = [p for p in policies if selects(dig(p, "spec", "podSelector"), engine_labels)]
    need(engine_pols, "engines", "no NetworkPolicy selects the engine pods")
    for p in engine_pols:
        where = f"NetworkPolicy/{dig(p, 'metadata', 'name')}"
        need("Ingress" in (dig(p, "spec", "policyTypes") or []), where, "must restrict Ingress to the engines")
        for rule in dig(p, "spec", "ingress") or []:
            peers = rule.get("from")
            if not need(peers, where, "an ingress rule without `from` admits everyone"):
                continue
            for peer in peers:
                ns, pod = peer.get("namespaceSelector"), peer.get("podSelector")
                gateway_pods = (ns is None and pod is not None and selects(pod, gateway_labels)
                                and not selects(pod, engine_labels) and (pod.get("matchLabels") or {}))
                monitoring_ns = (ns is not None and pod is None and
                                 dig(ns, "matchLabels") == {"kubernetes.io/metadata.name": monitoring})
                need(gateway_pods or monitoring_ns, where,
                     f"admits {peer}: only gateway pods and namespace {monitoring} may reach the engines")


def check_gateway_egress(policies, engine_labels, gateway_labels, port):
    for p in policies:
        if not selects(dig(p, "spec", "podSelector"), gateway_labels):
            continue
        if "Egress" not in (dig(p, "spec", "policyTypes") or []):
            continue
        where = f"NetworkPolicy/{dig(p, 'metadata', 'name')}"
        ok = any(selects(peer.get("podSelector"), engine_labels) and peer.get("namespaceSelector") is None
                 and any(pt.get("port") in (port, "http") for pt in rule.get("ports") or [{"port": port}])
                 for rule in dig(p, "spec", "egress") or [] for peer in rule.get("to") or [])
        need(ok, where, f"the gateways may not reach the engine pods on port {port}")


def check_upstream(config, services, configmaps, engine, namespace, domain_ok):
    c = container(engine)
    args = [expand(a, c, configmaps) for a in c.get("args") or []]
    model_id = args[args.index("--model-id") + 1] if "--model-id" in args[:-1] else None
    port = next((p.get("containerPort") for p in c.get("ports") or []), None)
    found = False
    for m in config.get("models") or []:
        where = f"gateway model {m.get('id')}"
        need("path" not in m, where, "a gateway model has upstreams, not a path")
        need(m.get("upstreams"), where, "no upstreams")
        for url in m.get("upstreams") or []:
            hit = re.match(r"^https?://([^/:]+)(?::(\d+))?", url)
            if not need(hit, where, f"bad upstream {url}"):
                continue
            host, uport = hit.group(1), int(hit.group(2) or 80)
            parts = host.split(".")
            svc = services.get(parts[0])
            local = len(parts) == 1 or (len(parts) >= 3 and parts[2] == "svc")
            if not (svc and local and selects(dig(svc, "spec", "selector") and
                                              {"matchLabels": dig(svc, "spec", "selector")}, pod_labels(engine))):
                continue  # an upstream outside this render (a vLLM pool, another cluster)
            found = True
            svc_ns = dig(svc, "metadata", "namespace") or namespace
            if len(parts) > 1:
                need(parts[1] == svc_ns, where, f"{url} names namespace {parts[1]}, the Service is in {svc_ns}")
                need(domain_ok(".".join(parts[3:])), where, f"{url}: unexpected cluster domain")
            need(dig(svc, "spec", "clusterIP") == "None", f"Service/{parts[0]}",
                 "the engines' Service must be headless (clusterIP: None): DNS then names every pod")
            need(not dig(svc, "spec", "publishNotReadyAddresses"), f"Service/{parts[0]}",
                 "publishNotReadyAddresses would send requests to engines still loading")
            ports = dig(svc, "spec", "ports") or []
            need(any(p.get("port") == uport for p in ports), where, f"{url}: the Service has no port {uport}")
            need(any(p.get("targetPort") in ("http", port, uport) for p in ports), where, "targetPort is not the engines'")
            need(uport == port, where, f"{url}: a headless Service is reached on the pods' port {port}")
            need(m.get("discover") == "dns", where, f"{url} is a headless Service: needs discover: dns")
            if model_id:
                need(m.get("upstream_model", m.get("id")) == model_id, where,
                     f"upstream_model {m.get('upstream_model')} is not the engines' --model-id {model_id}")
    need(found, "gateway config", "no model's upstreams name the engines' Service")
    return port


def main():
    argv = sys.argv[1:]
    opts = {"--namespace": "citadel", "--monitoring": "monitoring"}
    files = []
    i = 0
    while i < len(argv):
        if argv[i] in opts:
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            files.append(argv[i])
            i += 1
    docs = [d for f in files for d in load_all(f) if isinstance(d, dict)]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    deps = by_kind.get("Deployment", [])
    gateways = [d for d in deps if pod_labels(d).get("app.kubernetes.io/component") == "gateway"]
    engines = [d for d in deps if "--model" in (container(d).get("args") or [])]
    if not (need(len(gateways) == 1, "render", f"{len(gateways)} gateway Deployments (want 1)") and
            need(len(engines) == 1, "render", f"{len(engines)} engine Deployments (want 1)")):
        return report()
    gw, engine = gateways[0], engines[0]
    gl, el = pod_labels(gw), pod_labels(engine)
    need(not selects({"matchLabels": dig(gw, "spec", "selector", "matchLabels")}, el), "gateway",
         "the gateway Deployment's selector also selects engine pods")
    need(not selects({"matchLabels": dig(engine, "spec", "selector", "matchLabels")}, gl), "engine",
         "the engine Deployment's selector also selects gateway pods")
    named = lambda kind: {dig(o, "metadata", "name"): o for o in by_kind.get(kind, [])}
    configmaps, services, secrets = named("ConfigMap"), named("Service"), named("Secret")
    config = gateway_config(gw, configmaps)
    domain_ok = lambda dom: dom in ("", "cluster.local") or bool(re.match(r"^[a-z0-9.-]+$", dom))
    port = check_upstream(config, services, configmaps, engine, opts["--namespace"], domain_ok)
    policies = by_kind.get("NetworkPolicy", [])
    check_engine_policies(policies, el, gl, opts["--monitoring"])
    check_gateway_egress(policies, el, gl, port)
    check_secrets(gw, config, configmaps, secrets)
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        objs = by_kind.get(kind, [])
        if kind == "HorizontalPodAutoscaler":
            targets = {dig(o, "spec", "scaleTargetRef", "name") for o in objs}
            for d in (gw, engine):  # without an HPA a Deployment says its replicas itself
                need(dig(d, "metadata", "name") in targets or dig(d, "spec", "replicas"), kind,
                     f"none scales {dig(d, 'metadata', 'name')}, which has no replicas of its own")
        else:
            for d, labels in ((gw, gl), (engine, el)):
                need(any(selects(dig(o, "spec", "selector"), labels) for o in objs), kind,
                     f"none covers {dig(d, 'metadata', 'name')}")
    hpa = next((o for o in by_kind.get("HorizontalPodAutoscaler", [])
                if dig(o, "spec", "scaleTargetRef", "name") == dig(gw, "metadata", "name")), None)
    most = dig(hpa, "spec", "maxReplicas") if hpa else dig(gw, "spec", "replicas") or 1
    if most > 1:
        need(str(config.get("redis_url", "")).startswith("redis://"), "gateway config",
             f"up to {most} gateways: quotas need a shared redis_url")
    if not failures:
        print(f"gateway: {dig(gw, 'metadata', 'name')} -> {len(config.get('models') or [])} models, "
              f"engines {dig(engine, 'metadata', 'name')} through a headless Service, "
              f"{len(policies)} network policies checked")
    return report()


def report():
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
