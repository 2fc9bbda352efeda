#!/usr/bin/env bash
# Builds Citadel's container image here, with no registry, and shows that it serves.
#
#   sudo bash deploy/test/build_image.sh [--worktree] [--keep] [--clean]
#
#   1. base image: `debootstrap --variant=minbase bookworm` into a folder, `podman import` of it as
#      localhost/citadel-base:bookworm (made once, kept in the script's podman storage);
#   2. `podman build --isolation chroot --network host --pull=never` of deploy/docker/Dockerfile with
#      DEBIAN_IMAGE=that base: nothing comes from Docker Hub, the packages from the Debian mirror;
#   3. the image's filesystem is exported (containers cannot start under this sandbox's rlimits),
#      its root mounted read-only as in Kubernetes (readOnlyRootFilesystem), /models with the bundled
#      model read-only, and `citadel serve` started in it by `chroot --userspec=10001:10001` on a free
#      port; then GET /health and a greedy completion, compared with /work/shared/golden when present.
#
# Not part of the test suite: it takes minutes (a Debian base and a compile) and needs the Debian
# mirror. Exit 0: the image serves; 1: a step failed; 77: no root, podman or debootstrap here.
#   --worktree  build the working tree as it is (default: the last commit, `git archive HEAD`)
#   --keep      keep the exported filesystem (its path is printed)
#   --clean     remove the script's podman storage and base first (rebuilds everything)
#   --image=TAG serve an image built before (e.g. localhost/citadel:0dbeb18) instead of building
# Environment: CITADEL_IMAGE_WORK (default /var/tmp/citadel-image), DEBIAN_MIRROR, BUILD_JOBS (2).
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
work="${CITADEL_IMAGE_WORK:-/var/tmp/citadel-image}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
jobs="${BUILD_JOBS:-2}"
base=localhost/citadel-base:bookworm
tag="localhost/citadel:$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo dev)"
worktree=0 keep=0 clean=0 image=
for a in "$@"; do
  case "$a" in
    --worktree) worktree=1 ;;
    --keep) keep=1 ;;
    --clean) clean=1 ;;
    --image=*) image=${a#--image=} ;;
    *) echo "unknown argument $a (see the header of $0)" >&2; exit 2 ;;
  esac
done

skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, podman's rootful storage, mounts, chroot)"
for tool in podman debootstrap chroot curl tar python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install podman debootstrap)"
done

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
# A storage of its own: leaves any other podman images alone; vfs works on every filesystem.
pod() { podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs --cgroup-manager cgroupfs "$@"; }

[ "$clean" = 1 ] && { step "removing $work"; rm -rf "$work"; }
mkdir -p "$work"
fs="$work/fs.$$"
server_pid="" container=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  for m in "$fs/tmp" "$fs/var/lib/citadel" "$fs/models" "$fs/dev" "$fs/proc" "$fs"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  [ -n "$container" ] && pod rm -f "$container" >/dev/null 2>&1
  if [ "$keep" = 1 ]; then echo "kept the image filesystem in $fs"; else rm -rf "$fs"; fi
  rm -rf "$work/context.$$" "$work/models.$$"
}
trap cleanup EXIT

# ---- 1. the base image from debootstrap ----
if pod image exists "$base"; then
  step "base image $base already made (--clean to remake it)"
else
  step "debootstrap --variant=minbase bookworm from $mirror"
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; echo "debootstrap failed (log: $work/debootstrap.log)"; exit 1; }
  # Updates and security fixes as in the official image; no package caches in the base.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  step "podman import as $base"
  tar -C "$rootfs" --numeric-owner -c . | pod import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi

# ---- 2. the image, from the project's Dockerfile ----
context="$work/context.$$"
mkdir -p "$context"
if [ -n "$image" ]; then
  tag=$image
  pod image exists "$tag" || { echo "no image $tag in $work/storage"; exit 1; }
  step "image $tag built before (--image)"
elif [ "$worktree" = 1 ]; then
  step "build context: the working tree (tracked and untracked files git does not ignore)"
  (cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - -c --ignore-failed-read 2>/dev/null) |
    tar -x -C "$context"
else
  step "build context: git archive HEAD ($(git -C "$src" rev-parse --short HEAD))"
  git -C "$src" archive HEAD | tar -x -C "$context"
fi
if [ -z "$image" ]; then
step "podman build --isolation chroot --network host (-j $jobs) -> $tag"
start=$(date +%s)
pod build --isolation chroot --network host --pull=never --format docker \
  --build-arg DEBIAN_IMAGE="$base" --build-arg BUILD_JOBS="$jobs" \
  -f "$context/deploy/docker/Dockerfile" --ignorefile "$context/deploy/docker/Dockerfile.dockerignore" \
  -t "$tag" "$context" >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; echo "podman build failed (log: $work/build.log)"; exit 1; }
echo "built in $(($(date +%s) - start)) s (log: $work/build.log)"
fi
size=$(pod image inspect "$tag" --format '{{.Size}}')
echo "image $tag: $(pod image inspect "$tag" --format '{{.Id}}' | cut -c1-12), $((size / 1024 / 1024)) MiB" \
  "(base $(($(pod image inspect "$base" --format '{{.Size}}') / 1024 / 1024)) MiB)"
echo "config: user $(pod image inspect "$tag" --format '{{.Config.User}}')," \
  "entrypoint $(pod image inspect "$tag" --format '{{json .Config.Entrypoint}}')," \
  "healthcheck $(pod image inspect "$tag" --format '{{if .HealthCheck}}yes{{else}}no{{end}}' 2>/dev/null || echo '?')"

# ---- 3. the image's filesystem, served under chroot ----
step "exporting the image filesystem"
container=$(pod create --name "citadel-fs-$$" "$tag")
mkdir -p "$fs"
pod export "$container" | tar -x -C "$fs" --numeric-owner
# Kubernetes' shape: read-only root, read-only models, writable state and /tmp only.
mkdir -p "$fs/models" "$fs/proc" "$fs/dev" "$fs/tmp" "$fs/var/lib/citadel"
mount --bind "$fs" "$fs" && mount -o remount,bind,ro "$fs"
mount -t proc proc "$fs/proc"
mount --bind /dev "$fs/dev"
mount -t tmpfs -o size=64m,mode=1777 tmpfs "$fs/tmp"
mount -t tmpfs -o size=64m,uid=10001,gid=10001 tmpfs "$fs/var/lib/citadel"
models="$work/models.$$"
mkdir -p "$models"
cp "$src/models/stories260K.gguf" "$models/"
chmod 755 "$models" && chmod 644 "$models/stories260K.gguf"  # uid 10001 reads it
mount --bind "$models" "$fs/models" && mount -o remount,bind,ro "$fs/models"
if touch "$fs/usr/x" 2>/dev/null; then echo "the root is not read-only"; exit 1; fi
echo "ldd in the image: $(chroot "$fs" ldd /usr/local/bin/citadel | grep -c '=>') libraries, none missing:" \
  "$(chroot "$fs" ldd /usr/local/bin/citadel | grep -q 'not found' && echo NO || echo yes)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "chroot --userspec=10001:10001 citadel serve on 127.0.0.1:$port"
chroot_bin=$(command -v chroot)  # /usr/sbin: not on the clean PATH below
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent \
  "$chroot_bin" --userspec=10001:10001 "$fs" /usr/local/bin/citadel serve \
  --model /models/stories260K.gguf --host 127.0.0.1 --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
health=""
for _ in $(seq 1 120); do
  health=$(curl -s --max-time 2 "http://127.0.0.1:$port/health" || true)
  case "$health" in *'"ok"'*) break ;; esac
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "citadel exited"; exit 1; }
  sleep 0.5
done
echo "GET /health -> $health"
case "$health" in *'"ok"'*) ;; *) cat "$work/serve.log"; echo "not healthy"; exit 1 ;; esac
echo "server process: uid $(ps -o uid= -p "$server_pid" | tr -d ' '), root $(readlink "/proc/$server_pid/root")"

answer=$(curl -s --max-time 60 "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 64, "temperature": 0}')
text=$(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["text"])') ||
  { echo "completion failed: $answer"; exit 1; }
echo "POST /v1/completions (greedy, 64 tokens) -> $(printf '%q' "$text")"
golden=/work/shared/golden/stories260K.json
if [ -f "$golden" ]; then
  want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generated_text"])' "$golden")
  if [ "$text" = "$want" ]; then echo "the completion equals the golden greedy answer ($golden)"
  else echo "the completion differs from the golden answer: $(printf '%q' "$want")"; exit 1; fi
fi
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | grep -c '^citadel_' || true)
echo "GET /metrics: $metrics citadel_ samples"
echo
echo "the image serves: $tag ($((size / 1024 / 1024)) MiB), /health ok, golden completion, uid 10001, read-only root"
