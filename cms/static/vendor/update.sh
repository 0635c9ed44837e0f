#!/usr/bin/env bash
# Re-fetches the vendored front-end packages at the versions in README.md from the npm registry.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent @wangeditor-next/editor@5.7.2 htmx.org@2.0.8 @alpinejs/csp@3.15.2 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
cp wangeditor-next-editor-5.7.2/package/dist/index.js "$here/wangeditor/index.js"
cp wangeditor-next-editor-5.7.2/package/dist/css/style.css "$here/wangeditor/style.css"
cp wangeditor-next-editor-5.7.2/package/LICENSE "$here/wangeditor/LICENSE"
cp htmx.org-2.0.8/package/dist/htmx.min.js "$here/htmx/htmx.min.js"
cp htmx.org-2.0.8/package/LICENSE "$here/htmx/LICENSE"
cp alpinejs-csp-3.15.2/package/dist/cdn.min.js "$here/alpinejs/alpine.min.js"
echo "vendored packages refreshed in $here"
