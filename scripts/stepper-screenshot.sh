#!/usr/bin/env bash
# Remakes docs/step_mlp.png, the README's picture of the stepper page: one moment of the mlp
# walkthrough (backward at the second layer) taken by headless Chromium from the page the build
# writes (build/docs/step_mlp.html; `make build` first). Usage: scripts/stepper-screenshot.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
page="$PWD/$build/docs/step_mlp.html"
[ -f "$page" ] || { echo "stepper-screenshot: no $page (run make build first)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The timeout only stops a hung browser.
timeout 300 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1400,1030 \
  --screenshot="$PWD/docs/step_mlp.png" "file://$page#step=8" 2>/dev/null
echo "wrote docs/step_mlp.png"
