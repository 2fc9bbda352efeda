#!/usr/bin/env bash
# The shipped Prometheus config and alert rules are valid and their unit tests pass (issue 7).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/../../deploy/prometheus"
command -v promtool >/dev/null || { echo "SKIP: promtool is not installed (apt-get install prometheus)"; exit 77; }
promtool check rules "$dir/alerts.yml"
# check config resolves rule_files relative to the config file.
promtool check config --syntax-only "$dir/prometheus.yml" 2>/dev/null || promtool check config "$dir/prometheus.yml"
(cd "$dir" && promtool test rules alerts_test.yml)
echo "ok - promtool check and test rules"
