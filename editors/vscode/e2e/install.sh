#!/usr/bin/env bash
# Install code-server (a real VS Code) and playwright-core for the end-to-end test.
# Needs (Debian): build-essential python3 libkrb5-dev ripgrep chromium.
set -euo pipefail
cd "$(dirname "$0")"
# @vscode/ripgrep downloads rg at install time; give it Debian's instead.
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
if [ ! -f "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
  work=$(mktemp -d)
  cp "$(command -v rg)" "$work/rg"
  tar -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$work" rg
  rm -rf "$work"
fi
export npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr
npm ci --no-audit --no-fund --loglevel=error
