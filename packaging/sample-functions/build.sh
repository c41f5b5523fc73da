#!/usr/bin/env bash
# Build the sample functions' images from faasbox's templates (stack.yml):
#   bash packaging/sample-functions/build.sh [faasbox build flags]
# e.g. --platform linux/arm64, or --build-arg BASE_IMAGE=... --build-arg PYTHON_IMAGE=...
# for local bases. markdown's libraries are pure Python: they are put into
# markdown/vendor/ here, so the image build needs no package index.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
faasbox=${FAASBOX:-faasbox}
python=${PYTHON:-python3}
if [ ! -d "$here/markdown/vendor/markdown_it" ]; then
  "$python" -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --target "$here/markdown/vendor" -r "$here/markdown/vendor.txt"
  rm -rf "$here/markdown/vendor/bin"
fi
cd "$here"
exec $faasbox build -f stack.yml "$@"
