#!/usr/bin/env bash
# Installs what the Kubernetes end-to-end tests run: a real kube-apiserver,
# built once from the Go module proxy into a cache folder outside the
# checkout, and Debian's etcd. Idempotent: a cached build is reused.
#
#   scripts/kube-control-plane.sh            # prints the folder with kube-apiserver and etcd
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
CACHE="${IRSA_CACHE:-$HOME/.cache/irsa}"
OUT="$CACHE/kube/v$K8S_VERSION"
BIN="$OUT/bin"
mkdir -p "$BIN"
# One build at a time: concurrent runs would share the source folder.
exec 9>"$OUT/.lock"
flock 9

if ! command -v etcd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing etcd (Debian's etcd-server)" >&2
    apt-get update -qq >&2 && apt-get install -y -qq etcd-server >/dev/null
  else
    echo "kube-control-plane: etcd is missing; install Debian's etcd-server" >&2
    exit 1
  fi
fi
ln -sf "$(command -v etcd)" "$BIN/etcd"

if [ ! -x "$BIN/kube-apiserver" ]; then
  echo "building kube-apiserver v$K8S_VERSION into $BIN (once; about 13 minutes and 3 GB of memory)" >&2
  SRC="$OUT/src"
  rm -rf "$SRC" && mkdir -p "$SRC"
  cd "$SRC"
  go mod init irsa.local/kube-apiserver-build >/dev/null 2>&1
  go mod edit -go=1.26.0
  go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null
  MODFILE="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
  go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
  # Kubernetes' own go.mod replaces its staging modules with local paths;
  # point each at the published module of the same release instead.
  minor="${K8S_VERSION#1.}"
  sed -n '/^replace (/,/^)/p' "$MODFILE" | awk '/=>/ {print $1}' | while read -r mod; do
    case "$mod" in
      k8s.io/sample-cli-plugin|k8s.io/sample-controller) ;;
      *) go mod edit -replace="$mod=$mod@v0.$minor" ;;
    esac
  done
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  go mod tidy -e >/dev/null 2>&1 || go mod tidy
  major="${K8S_VERSION%%.*}"
  kminor="${K8S_VERSION#*.}"; kminor="${kminor%%.*}"
  go build -tags tools -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$kminor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
  cd / && rm -rf "$SRC"
fi
echo "$BIN"
