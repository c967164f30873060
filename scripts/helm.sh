#!/usr/bin/env bash
# Builds the helm binary that scripts/render-manifests.sh and the chart's
# tests (test/deploy) run, from the Go module proxy, in a scratch module
# under ~/.cache/irsa, so that helm never enters irsa's own go.mod.
# Idempotent: a cached build of the pinned version is reused.
#
#   scripts/helm.sh            # prints the path of the helm binary
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${IRSA_CACHE:-$HOME/.cache/irsa}"
BIN="$CACHE/bin/helm-$HELM_VERSION"
# Bumped when the way helm is built changes, so a cached build is redone.
RECIPE=2

mkdir -p "$CACHE/bin"
# One build at a time: concurrent runs would share the source folder.
exec 9>"$CACHE/bin/.helm.lock"
flock 9

if [ ! -x "$BIN" ] || [ "$(cat "$BIN.recipe" 2>/dev/null)" != "$RECIPE" ]; then
  command -v go >/dev/null 2>&1 || { echo "helm.sh: Go is needed to build helm" >&2; exit 1; }
  echo "building helm $HELM_VERSION into $BIN (once; a few minutes)" >&2
  SRC="$CACHE/helm"
  rm -rf "$SRC" && mkdir -p "$SRC" "$CACHE/bin"
  cd "$SRC"
  # The caller's module settings must not reach the scratch module.
  export GOFLAGS=-buildvcs=false GOWORK=off
  go mod init irsa.local/helm-build >/dev/null 2>&1
  go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  # As helm's own Makefile does: the version, and the Kubernetes version
  # `helm template` and `helm lint` assume, one minor above client-go's.
  kver="$(go list -f '{{.Version}}' -m k8s.io/client-go)"; kver="${kver#v}"
  kmajor=$(( ${kver%%.*} + 1 )); kminor="${kver#*.}"; kminor="${kminor%%.*}"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata="
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=$kmajor -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$kminor"
  done
  go build -trimpath -ldflags "$ldflags" -o "$BIN.tmp" helm.sh/helm/v3/cmd/helm
  mv "$BIN.tmp" "$BIN"
  echo "$RECIPE" > "$BIN.recipe"
fi
ln -sf "$(basename "$BIN")" "$CACHE/bin/helm"
echo "$BIN"
