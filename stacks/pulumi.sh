#!/usr/bin/env bash
# npm run up | preview | refresh | destroy [-- PULUMI FLAGS]: the Pulumi CLI on the dev stack (or
# $PULUMI_STACK), with a local file backend under .lab/pulumi so no account is needed. Set
# PULUMI_BACKEND_URL to use another backend (Pulumi Cloud, s3://…, azblob://…, gs://…).
#
# Only the lab's stack skips Pulumi's confirmation (--yes): a stack whose routers are all lab
# routers (`lab: NAME` in Pulumi.STACK.yaml). Any other stack asks before it changes real routers.
set -euo pipefail
cd "$(dirname "$0")/.."
command="${1:?usage: stacks/pulumi.sh up|preview|refresh|destroy [flags]}"
shift
if ! command -v pulumi >/dev/null 2>&1; then
  echo "The Pulumi CLI is not installed here. Install it, or use the test stand-in: npm run engine -- $command --stack ${PULUMI_STACK:-dev}" >&2
  exit 127
fi
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .lab/pulumi
  export PULUMI_BACKEND_URL="file://$PWD/.lab/pulumi"
  # The local backend's secrets provider: a passphrase, empty for the lab unless you set one.
  export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
fi
stack="${PULUMI_STACK:-dev}"
yes=()
if node -e '
  const { load } = require("js-yaml");
  const routers = (load(require("fs").readFileSync(process.argv[1], "utf8"))?.config ?? {})["pulumi-gre:routers"] ?? {};
  const all = Object.values(routers);
  process.exit(all.length > 0 && all.every((r) => r && typeof r === "object" && "lab" in r) ? 0 : 1);
' "Pulumi.$stack.yaml" 2>/dev/null; then
  yes=(--yes)
fi
pulumi stack select "$stack" --create --non-interactive >/dev/null
case "$command" in
  up) exec pulumi up "${yes[@]}" "$@" ;;
  preview) exec pulumi preview "$@" ;;
  refresh) exec pulumi refresh "${yes[@]}" "$@" ;;
  destroy) exec pulumi destroy "${yes[@]}" "$@" ;;
  *) echo "unknown command $command" >&2; exit 2 ;;
esac
