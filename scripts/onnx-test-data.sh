#!/usr/bin/env bash
# The ONNX backend node tests (Debian's libonnx-testdata: one-node model.onnx files with their
# input and output tensors), installed when missing, so that `npm test` passes on a fresh machine
# exactly as written: the int8 kernels' conformance test (test/export/onnx-conformance.test.ts)
# runs every QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, MatMulInteger and
# ConvInteger vector from /usr/share/libonnx-testdata/data/node. Same steps as test-data.sh.
set -euo pipefail

PACKAGE=libonnx-testdata
DIR=/usr/share/libonnx-testdata/data/node
ATTEMPTS=10

fail() {
  echo "test-data: $1; install Debian's $PACKAGE yourself (apt-get install $PACKAGE), or run the tests on a machine that has it" >&2
  exit 1
}

present() { [ -e "$DIR/test_qlinearconv/model.onnx" ]; }

present && exit 0
command -v apt-get >/dev/null || fail "the ONNX test vectors are missing from $DIR and this machine has no apt-get"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "the ONNX test vectors are missing from $DIR, and installing it needs root, but this user is not root and there is no sudo"
  SUDO=(sudo)
fi
apt_get() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

echo "test-data: installing $PACKAGE (the ONNX backend test vectors for the tests)" >&2
# Another process may hold the apt lock for a while: wait for it, then retry. A fresh machine's
# package lists may be empty or stale: refresh them once after the first failure.
for attempt in $(seq 1 "$ATTEMPTS"); do
  if apt_get install -y -o DPkg::Lock::Timeout=60 "$PACKAGE"; then break; fi
  [ "$attempt" -eq 1 ] && apt_get update -o DPkg::Lock::Timeout=60 || true
  [ "$attempt" -eq "$ATTEMPTS" ] && fail "apt-get could not install $PACKAGE after $ATTEMPTS attempts (see its messages above)"
  echo "test-data: apt-get busy or failed (attempt $attempt of $ATTEMPTS), retrying in 10 s" >&2
  sleep 10
done
present || fail "$PACKAGE is installed, but $DIR holds no test_qlinearconv/model.onnx"
