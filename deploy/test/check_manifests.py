#!/usr/bin/env python3
"""Structure and policy checks of Citadel's deployment files (needs PyYAML).

  check_manifests.py k8s FILE... | -      Kubernetes objects (files or rendered helm output on stdin)
  check_manifests.py compose FILE         docker-compose.yml
  check_manifests.py chart DIR            Helm chart metadata and values

What the deployment issue asks of every manifest: probes, resource limits, non-root and read-only
containers, a read-only model volume, least-privilege RBAC, an HPA on latency/queue metrics, a
NetworkPolicy for ingress and egress, a TLS secret, a claim for models. Exit 1 on any failure.
"""
import sys

import yaml

failures = []


def fail(where, msg):
    failures.append(f"{where}: {msg}")


def need(cond, where, msg):
    if not cond:
        fail(where, msg)
    return bool(cond)


def dig(obj, *path):
    for p in path:
        if isinstance(obj, dict):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return None
    return obj


def check_pod_spec(where, spec, require_probes=True, gateway=False):
    """gateway: a gateway pod (app.kubernetes.io/component: gateway), which runs `serve --config`
    and holds no model: no /models volume, no claim."""
    psc = spec.get("securityContext") or {}
    need(psc.get("runAsNonRoot") is True, where, "pod securityContext.runAsNonRoot must be true")
    need((psc.get("runAsUser") or 0) != 0, where, "pod must run as a non-zero runAsUser")
    need(spec.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false")
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    containers = spec.get("containers") or []
    need(containers, where, "no containers")
    for c in containers:
        cw = f"{where} container {c.get('name')}"
        csc = c.get("securityContext") or {}
        need(csc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation must be false")
        need(csc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem must be true")
        need("ALL" in (dig(csc, "capabilities", "drop") or []), cw, "capabilities must drop ALL")
        if not require_probes:
            continue
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            p = c.get(probe)
            if need(p, cw, f"{probe} missing"):
                need(dig(p, "httpGet", "path") == "/health", cw, f"{probe} must GET /health")
        limits = dig(c, "resources", "limits") or {}
        requests = dig(c, "resources", "requests") or {}
        need("memory" in limits and "cpu" in limits, cw, "resources.limits needs cpu and memory")
        need("memory" in requests and "cpu" in requests, cw, "resources.requests needs cpu and memory")
        args = c.get("args") or []
        need(any(p.get("containerPort") for p in c.get("ports") or []), cw, "no containerPort")
        mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
        if gateway:
            need(args[:2] == ["serve", "--config"], cw, "a gateway runs `serve --config FILE`")
            need("--model" not in args and "/models" not in mounts, cw, "a gateway holds no model")
            need(not any("persistentVolumeClaim" in v for v in volumes.values()), cw, "a gateway mounts no claim")
            continue
        need(args[:1] == ["serve"] and "--model" in args, cw, "args must run `serve --model ...`")
        models = mounts.get("/models")
        if need(models, cw, "no /models volume mount"):
            need(models.get("readOnly") is True, cw, "/models must be mounted readOnly")
            vol = volumes.get(models.get("name")) or {}
            need("persistentVolumeClaim" in vol, cw, "/models must come from a PersistentVolumeClaim")


def check_k8s(docs, source):
    kinds = {}
    for d in docs:
        if not isinstance(d, dict):
            continue
        where = f"{source}: {d.get('kind')}/{dig(d, 'metadata', 'name')}"
        if not need(d.get("apiVersion") and d.get("kind"), where, "apiVersion and kind are required"):
            continue
        if d["kind"] == "Kustomization":
            continue
        need(dig(d, "metadata", "name"), where, "metadata.name is required")
        kinds.setdefault(d["kind"], []).append(d)
        kind = d["kind"]
        if kind == "Deployment":
            spec = d.get("spec") or {}
            sel = dig(spec, "selector", "matchLabels") or {}
            labels = dig(spec, "template", "metadata", "labels") or {}
            need(sel and all(labels.get(k) == v for k, v in sel.items()), where, "selector must match the pod labels")
            gateway = dig(spec, "template", "metadata", "labels", "app.kubernetes.io/component") == "gateway"
            check_pod_spec(where, dig(spec, "template", "spec") or {}, gateway=gateway)
        elif kind == "Pod":
            check_pod_spec(where, d.get("spec") or {}, require_probes=False)
        elif kind == "Service":
            need(dig(d, "spec", "selector"), where, "a Service needs a selector")
            need(dig(d, "spec", "ports"), where, "a Service needs ports")
        elif kind == "HorizontalPodAutoscaler":
            need(d["apiVersion"] == "autoscaling/v2", where, "use autoscaling/v2")
            spec = d.get("spec") or {}
            need(dig(spec, "scaleTargetRef", "kind") == "Deployment", where, "must scale a Deployment")
            need((spec.get("maxReplicas") or 0) >= (spec.get("minReplicas") or 1), where, "maxReplicas < minReplicas")
            names = [dig(m, "pods", "metric", "name") or "" for m in spec.get("metrics") or []]
            if dig(d, "metadata", "labels", "app.kubernetes.io/component") == "gateway":
                # Gateways hold no queue of their own: they scale on CPU (and requests per second).
                cpu = [m for m in spec.get("metrics") or [] if dig(m, "resource", "name") == "cpu"]
                need(cpu, where, "a gateway HPA needs a cpu metric")
            else:
                need(any("latency" in n for n in names), where, "no latency metric")
                need(any("waiting" in n or "queue" in n for n in names), where, "no queue metric")
        elif kind in ("Role", "ClusterRole"):
            need(kind == "Role", where, "use a namespaced Role, not a ClusterRole")
            for rule in d.get("rules") or []:
                for field in ("apiGroups", "resources", "verbs"):
                    need("*" not in (rule.get(field) or []), where, f"wildcard in {field}")
                bad = set(rule.get("verbs") or []) - {"get", "list", "watch"}
                need(not bad, where, f"write verbs {sorted(bad)}: the server only reads")
                if "secrets" in (rule.get("resources") or []):
                    need(rule.get("resourceNames"), where, "secrets must be limited by resourceNames")
        elif kind == "RoleBinding":
            need(dig(d, "roleRef", "kind") == "Role", where, "must bind a Role")
            need(d.get("subjects"), where, "no subjects")
        elif kind == "ServiceAccount":
            need(d.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false")
        elif kind == "NetworkPolicy":
            types = dig(d, "spec", "policyTypes") or []
            need("Ingress" in types and "Egress" in types, where, "must restrict both Ingress and Egress")
        elif kind == "Secret":
            if d.get("type") == "kubernetes.io/tls":
                data = {**(d.get("data") or {}), **(d.get("stringData") or {})}
                need("tls.crt" in data and "tls.key" in data, where, "a TLS secret needs tls.crt and tls.key")
        elif kind == "PersistentVolumeClaim":
            need(dig(d, "spec", "resources", "requests", "storage"), where, "no storage request")
            need(dig(d, "spec", "accessModes"), where, "no accessModes")
    return kinds


def load_all(path):
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        fail(path, f"YAML: {e}")
        return []


def main():
    mode, args = sys.argv[1], [a for a in sys.argv[2:] if not a.startswith("--")]
    if mode == "k8s":
        docs = []
        for a in args:
            docs += [(d, a) for d in load_all(a)]
        kinds = {}
        for d, src in docs:
            for k, v in check_k8s([d], src).items():
                kinds.setdefault(k, []).extend(v)
        required = ["Deployment", "Service", "HorizontalPodAutoscaler", "ServiceAccount", "Role", "RoleBinding",
                    "NetworkPolicy", "PersistentVolumeClaim"]
        if "--require-secret" in sys.argv:
            required.append("Secret")
        for k in required:
            need(k in kinds, " ".join(args), f"no {k}")
        print(f"structure: {sum(len(v) for v in kinds.values())} objects checked ({', '.join(sorted(kinds))})")
    elif mode == "compose":
        (doc,) = load_all(args[0]) or [None]
        services = dig(doc, "services") or {}
        for name in ("citadel", "prometheus", "grafana"):
            need(name in services, args[0], f"no service {name}")
        c = services.get("citadel") or {}
        cmd = c.get("command") or []
        need(cmd[:1] == ["serve"] and "--model" in cmd, args[0], "citadel must run `serve --model ...`")
        need(c.get("read_only") is True, args[0], "citadel needs read_only: true")
        need("ALL" in (c.get("cap_drop") or []), args[0], "citadel must cap_drop ALL")
        model_mounts = [v for v in c.get("volumes") or [] if isinstance(v, dict) and v.get("target") == "/models"]
        need(model_mounts and model_mounts[0].get("read_only") is True, args[0], "/models must be mounted read-only")
        prom = " ".join(str(v) for v in (services.get("prometheus") or {}).get("volumes") or [])
        graf = " ".join(str(v) for v in (services.get("grafana") or {}).get("volumes") or [])
        need("./prometheus" in prom, args[0], "prometheus must mount deploy/prometheus")
        need("./grafana" in graf, args[0], "grafana must mount deploy/grafana")
        print(f"compose: {len(services)} services checked")
    elif mode == "chart":
        chart = load_all(f"{args[0]}/Chart.yaml")[0] or {}
        for key in ("apiVersion", "name", "version", "appVersion"):
            need(chart.get(key), "Chart.yaml", f"{key} is required")
        need(chart.get("apiVersion") == "v2", "Chart.yaml", "apiVersion must be v2 (Helm 3)")
        values = load_all(f"{args[0]}/values.yaml")[0] or {}
        for key in ("image", "model", "resources", "autoscaling", "tls", "networkPolicy"):
            need(key in values, "values.yaml", f"no {key}")
        print("chart: Chart.yaml and values.yaml checked")
    else:
        sys.exit(f"unknown mode {mode}")
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
