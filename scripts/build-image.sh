#!/usr/bin/env bash
# Builds the server image from ./Containerfile with podman where no container registry is
# reachable: the Debian 12 base is made here with debootstrap from the Debian package mirror and
# imported, a Swift build image is made from it, and the host's Swift toolchain (and a local git
# mirror of the Swift packages, where git is configured to use one) is mounted into the build.
# Prints the image name as its last line.
#
#   IMAGE            the name to tag (default localhost/swift-vllm:latest)
#   SWIFT_TOOLCHAIN  the toolchain's root, holding usr/bin/swift (default: from `swift` on PATH)
#   WORK             scratch space for the root file system (default /var/tmp/swift-vllm-image)
#   CONTAINERS_CONF  podman's configuration; by default one with the runc runtime and no default
#                    ulimits, which is what runs containers on machines like this one
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/swift-vllm:latest}
WORK=${WORK:-/var/tmp/swift-vllm-image}
BASE_IMAGE=localhost/swift-vllm-base:bookworm
SWIFT_IMAGE=localhost/swift-vllm-swift:bookworm
say() { echo "build-image: $*" >&2; }

missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >&2
fi
mkdir -p "$WORK"
if [[ -z ${CONTAINERS_CONF:-} ]]; then
    export CONTAINERS_CONF=$WORK/containers.conf
    printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
fi

if ! podman image exists "$BASE_IMAGE"; then
    say "making $BASE_IMAGE with debootstrap"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
    tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$WORK/rootfs"
fi
if ! podman image exists "$SWIFT_IMAGE"; then
    say "making $SWIFT_IMAGE"
    podman build --quiet -f deploy/container/swift-toolchain.Containerfile \
        --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$SWIFT_IMAGE" deploy/container >/dev/null
fi

toolchain=${SWIFT_TOOLCHAIN:-$(readlink -f "$(command -v swift)")}
toolchain=${toolchain%/usr/bin/swift*}
[[ -x $toolchain/usr/bin/swift ]] || { say "no Swift toolchain at $toolchain (set SWIFT_TOOLCHAIN)"; exit 1; }
mounts=(--volume "$toolchain:/opt/swift:ro")
# git's url.<local path>.insteadOf rewrites (a package mirror): the same config and paths inside.
while read -r key _; do
    path=${key#url.}
    path=${path%.insteadof}
    [[ -d $path ]] && mounts+=(--volume "$path:$path:ro")
done < <(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null | sort -u)
((${#mounts[@]} > 2)) && mounts+=(--volume /etc/gitconfig:/etc/gitconfig:ro)

say "building $IMAGE (a release build inside the container: several minutes)"
podman build --format docker -f Containerfile \
    --build-arg SWIFT_IMAGE="$SWIFT_IMAGE" --build-arg BASE_IMAGE="$BASE_IMAGE" \
    "${mounts[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; exit 1; }
echo "$IMAGE"
