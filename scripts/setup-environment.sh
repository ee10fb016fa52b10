#!/usr/bin/env bash
# Render an environment and install its .env at the repository root, as the environments guide
# describes (`./scripts/setup-environment.sh development`). A root .env that differs from the
# rendered one is never overwritten silently: pass --force to replace it (a copy is kept).
#
# MANTIS_RENDER overrides how mantis-render is run (default: `make render`, which bootstraps .venv).
set -euo pipefail

usage() { echo "usage: $0 ENV [--force]" >&2; }

env_name=""
force=false
for argument in "$@"; do
  case "$argument" in
    -h|--help)
      echo "usage: $0 ENV [--force]"
      echo "Render ENV and install its .env at the repository root (mode 0600)."
      echo "  --force  replace a root .env that differs (the old one is kept as .env.backup)"
      exit 0 ;;
    --force) force=true ;;
    -*) echo "setup-environment: unknown option $argument" >&2; usage; exit 2 ;;
    *)
      if [ -n "$env_name" ]; then
        echo "setup-environment: one environment at a time ($env_name, then $argument)" >&2
        usage; exit 2
      fi
      env_name="$argument" ;;
  esac
done
[ -n "$env_name" ] || { usage; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# --require-env: fail rather than install a .env this run did not write (e.g. Vault unreachable).
if [ -n "${MANTIS_RENDER:-}" ]; then
  $MANTIS_RENDER render --require-env "$env_name"
else
  make --no-print-directory render ENV="$env_name" RENDER_FLAGS=--require-env
fi

rendered="rendered/$env_name/.env"
if [ -e .env ] && ! cmp -s .env "$rendered"; then
  if [ "$force" != true ]; then
    echo "setup-environment: .env differs from $rendered; left as it is." >&2
    echo "  compare: diff .env $rendered" >&2
    echo "  replace: $0 $env_name --force   (keeps the old one as .env.backup)" >&2
    exit 1
  fi
  cp -p .env .env.backup
  echo "setup-environment: previous .env kept as .env.backup"
fi
install -m 600 "$rendered" .env
echo "setup-environment: .env now holds the $env_name environment (from $rendered)"
