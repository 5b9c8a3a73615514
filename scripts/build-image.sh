#!/usr/bin/env bash
# Builds the smi-metrics-server container image offline, from the project's own build:
#
#   1. stages a root filesystem: the binary (stripped), every shared library it links (as ldd
#      finds them) and the dynamic loader, CA certificates, /etc/passwd and /etc/group with the
#      unprivileged user nonroot (65532), an empty /tmp, and the copyright files of the Debian
#      packages the libraries come from;
#   2. assembles an OCI image from it with umoci (no container engine, no base image, no network),
#      with user 65532, the binary as entrypoint and port 8443;
#   3. optionally writes a docker-archive (skopeo) for `docker load` or `kind load image-archive`,
#      or pushes the image (skopeo) to a registry.
#
#   scripts/build-image.sh                         # build/image/oci, tag localhost/smi-metrics-server:VERSION
#   scripts/build-image.sh --tag registry.example.com/smi-metrics-server:0.1.0 --push
#   scripts/build-image.sh --stage-only            # only build/image/rootfs, for deploy/Dockerfile
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(sed -n 's/^project(smi-metrics-server VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")

usage() {
  cat <<EOT
usage: build-image.sh [--build-dir DIR] [--binary FILE] [--out DIR] [--tag NAME:TAG]
                      [--stage-only] [--archive FILE] [--push]
  --build-dir DIR  the CMake build directory (default \$BUILD_DIR or build/); the server is built
                   there (Release) when it is missing
  --binary FILE    the smi-metrics-server binary to put in (default DIR/smi-metrics-server)
  --out DIR        where rootfs/ and oci/ go (default DIR/image); both are made anew
  --tag NAME:TAG   the image name (default localhost/smi-metrics-server:$version)
  --stage-only     stop after staging rootfs/ (for deploy/Dockerfile)
  --archive FILE   also write a docker-archive tarball (needs skopeo)
  --push           push the image to the registry its name says (needs skopeo and credentials)
EOT
}

build="${BUILD_DIR:-$root/build}" binary="" out="" tag="localhost/smi-metrics-server:$version"
stage_only=0 archive="" push=0
while (($#)); do
  case "$1" in
    --build-dir) build=${2:?}; shift 2 ;;
    --binary) binary=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --tag) tag=${2:?}; shift 2 ;;
    --stage-only) stage_only=1; shift ;;
    --archive) archive=${2:?}; shift 2 ;;
    --push) push=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-image: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
say() { echo "build-image: $*" >&2; }
fail() { say "$*"; exit 1; }

[[ $tag == *:* && ${tag##*:} != */* ]] || fail "--tag \"$tag\" needs a tag (NAME:TAG)"
name=${tag%:*}
ref=${tag##*:}
out=${out:-$build/image}
if [[ -z $binary ]]; then
  binary=$build/smi-metrics-server
  if [[ ! -x $binary ]]; then
    say "building $binary"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j"${JOBS:-2}" --target smi-metrics-server
  fi
fi
[[ -x $binary ]] || fail "$binary is not an executable"

# ---- 1. the root filesystem --------------------------------------------------------------------
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{usr/bin,etc/ssl/certs,usr/lib/ssl,tmp}
chmod 1777 "$rootfs/tmp"
strip --strip-unneeded -o "$rootfs/usr/bin/smi-metrics-server" "$binary"
chmod 755 "$rootfs/usr/bin/smi-metrics-server"

# Every library at the path ldd resolved it to (the loader searches those directories), the
# loader itself at the path the binary names.
libraries=()
while read -r line; do
  case "$line" in
    *"not found"*) fail "a library of $binary is missing on this machine: $line" ;;
    *linux-vdso*) ;;
    *"=>"*) libraries+=("$(awk '{print $3}' <<<"$line")") ;;
    /*) libraries+=("$(awk '{print $1}' <<<"$line")") ;;
  esac
done < <(ldd "$binary")
((${#libraries[@]})) || fail "ldd found no libraries: is $binary dynamically linked?"
packages=()
for lib in "${libraries[@]}"; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  chmod 755 "$rootfs$lib"
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [[ -z $pkg ]] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [[ -n $pkg ]] && packages+=("$pkg")
done

# CA certificates where OpenSSL's default paths look (Debian's OPENSSLDIR is /usr/lib/ssl).
ca_file=/etc/ssl/certs/ca-certificates.crt
[[ -s $ca_file ]] || fail "$ca_file is missing (Debian package ca-certificates)"
cp -L "$ca_file" "$rootfs$ca_file"
chmod 644 "$rootfs$ca_file"
ln -s /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/lib/ssl/cert.pem"
ln -s /etc/ssl/certs "$rootfs/usr/lib/ssl/certs"
packages+=(ca-certificates)

cat >"$rootfs/etc/passwd" <<'EOT'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOT
cat >"$rootfs/etc/group" <<'EOT'
root:x:0:
nonroot:x:65532:
EOT
echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"
chmod 644 "$rootfs"/etc/{passwd,group,nsswitch.conf}

# The licences of what the image redistributes.
for pkg in $(printf '%s\n' "${packages[@]}" | sort -u); do
  copyright=/usr/share/doc/$pkg/copyright
  if [[ -r $copyright ]]; then
    mkdir -p "$rootfs/usr/share/doc/$pkg"
    cp -L "$copyright" "$rootfs$copyright"
    chmod 644 "$rootfs$copyright"
  fi
done

# The same time on every file, so that the same build gives the same layer.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
find "$rootfs" -exec touch -h -d "@$epoch" {} +
say "staged $rootfs ($(du -sh --apparent-size "$rootfs" | cut -f1), $(find "$rootfs" -type f | wc -l) files)"
((stage_only)) && exit 0

# ---- 2. the OCI image --------------------------------------------------------------------------
command -v umoci >/dev/null || fail "umoci is missing (Debian package umoci; or use deploy/Dockerfile over $rootfs)"
layout=$out/oci
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
rm -rf "$layout"
umoci init --layout "$layout"
umoci new --image "$layout:$ref"
# One layer: the staged files, unpacked into umoci's bundle and repacked as the image's diff.
bundle=$out/bundle
rm -rf "$bundle"
umoci unpack --image "$layout:$ref" "$bundle" >/dev/null
cp -a "$rootfs/." "$bundle/rootfs/"
touch -h -d "@$epoch" "$bundle/rootfs"
umoci repack --image "$layout:$ref" --history.created "$created" \
  --history.created_by "scripts/build-image.sh (staged root filesystem)" "$bundle"
rm -rf "$bundle"
umoci config --image "$layout:$ref" \
  --created "$created" --history.created "$created" \
  --history.created_by "scripts/build-image.sh (configuration)" \
  --os linux --architecture "$(dpkg --print-architecture)" \
  --config.user 65532:65532 \
  --config.entrypoint /usr/bin/smi-metrics-server \
  --config.workingdir / \
  --config.exposedports 8443/tcp \
  --config.label "org.opencontainers.image.title=smi-metrics-server" \
  --config.label "org.opencontainers.image.version=$version" \
  --manifest.annotation "org.opencontainers.image.ref.name=$ref"
umoci gc --layout "$layout"
say "image $tag in the OCI layout $layout (tag $ref), $(du -sh --apparent-size "$layout" | cut -f1)"

# ---- 3. an archive, a push ---------------------------------------------------------------------
if [[ -n $archive || $push == 1 ]]; then
  command -v skopeo >/dev/null || fail "skopeo is missing (Debian package skopeo)"
fi
if [[ -n $archive ]]; then
  rm -f "$archive"
  skopeo copy --quiet "oci:$layout:$ref" "docker-archive:$archive:$tag"
  say "wrote $archive (docker load -i, kind load image-archive, ctr images import)"
fi
if ((push)); then
  skopeo copy "oci:$layout:$ref" "docker://$name:$ref"
  say "pushed $tag"
fi
