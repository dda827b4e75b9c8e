#!/usr/bin/env bash
# Packs the shipped projects and checks each package's contents: the assembly, its XML docs, the README,
# the license, a symbols package with the PDB, and the dependencies each package must (and must not) declare.
# Usage: .ci/check-packages.sh [output-dir]   (default: artifacts/packages). Exit 0 when every check passes.
set -euo pipefail

cd "$(dirname "$0")/.."
out="${1:-artifacts/packages}"
rm -rf "$out"
mkdir -p "$out"

projects=(src/LockFree.Balancing src/LockFree.Balancing.Kubernetes src/LockFree.Balancing.Http src/LockFree.Balancing.Grpc src/LockFree.Balancing.ServiceDiscovery src/LockFree.Balancing.KubernetesClient src/LockFree.Balancing.Yarp)
for project in "${projects[@]}"; do
  dotnet pack "$project" -c Release -o "$out" --nologo -v quiet
done

failures=0
fail() { echo "FAIL  $1"; failures=$((failures + 1)); }
pass() { echo "ok    $1"; }

# check_package ID "required dependency ids" "forbidden dependency ids"
check_package() {
  local id="$1" required="$2" forbidden="$3"
  local nupkg snupkg listing nuspec
  nupkg=$(ls "$out/$id".[0-9]*.nupkg 2>/dev/null | head -n 1 || true)
  snupkg=$(ls "$out/$id".[0-9]*.snupkg 2>/dev/null | head -n 1 || true)
  if [[ -z "$nupkg" ]]; then fail "$id: no .nupkg in $out"; return; fi
  if [[ -z "$snupkg" ]]; then fail "$id: no .snupkg in $out"; else
    # The listing is captured first: with pipefail, `unzip | grep -q` fails when grep exits before unzip has written
    # everything (SIGPIPE), whatever the package holds.
    listing=$(unzip -l "$snupkg")
    if grep -q "lib/net10.0/$id.pdb" <<<"$listing"; then pass "$id: symbols package holds $id.pdb"; else fail "$id: symbols package lacks lib/net10.0/$id.pdb"; fi
  fi

  listing=$(unzip -l "$nupkg")
  for entry in "lib/net10.0/$id.dll" "lib/net10.0/$id.xml" "README.md" "LICENSE"; do
    if grep -q " $entry\$" <<<"$listing"; then pass "$id: holds $entry"; else fail "$id: lacks $entry"; fi
  done

  nuspec=$(unzip -p "$nupkg" "$id.nuspec")
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" && pass "$id: MIT license expression" || fail "$id: no MIT license expression"
  grep -q '<readme>README.md</readme>' <<<"$nuspec" && pass "$id: README declared" || fail "$id: README not declared"
  grep -q '<description>.\{40,\}</description>' <<<"$nuspec" && pass "$id: description" || fail "$id: description missing or too short"
  grep -q '<repository type="git"' <<<"$nuspec" && pass "$id: repository info" || fail "$id: no repository info"
  for dependency in $required; do
    grep -q "<dependency id=\"$dependency\"" <<<"$nuspec" && pass "$id: depends on $dependency" || fail "$id: does not depend on $dependency"
  done
  for dependency in $forbidden; do
    grep -q "<dependency id=\"$dependency\"" <<<"$nuspec" && fail "$id: must not depend on $dependency" || pass "$id: no dependency on $dependency"
  done
  # Nothing from the test side may leak into a package.
  if grep -qiE 'xunit|Fakes|Tests|BenchmarkDotNet' <<<"$nuspec$listing"; then fail "$id: mentions test or bench code"; fi
}

check_package LockFree.Balancing "" "LockFree.Balancing.Kubernetes Microsoft.Extensions.Http"
check_package LockFree.Balancing.Kubernetes "LockFree.Balancing Microsoft.Extensions.DependencyInjection.Abstractions Microsoft.Extensions.Options" "Microsoft.Extensions.Http Grpc.Net.Client"
check_package LockFree.Balancing.Http \
  "LockFree.Balancing LockFree.Balancing.Kubernetes Microsoft.Extensions.Http Microsoft.Extensions.DependencyInjection.Abstractions Microsoft.Extensions.Options Microsoft.Extensions.Logging.Abstractions" "Grpc.Net.Client"
# The gRPC integration shares the adapter's registry and never pulls in the HTTP integration.
check_package LockFree.Balancing.Grpc "LockFree.Balancing LockFree.Balancing.Kubernetes Grpc.Net.Client" "LockFree.Balancing.Http"
# The ServiceDiscovery provider shares the adapter's registry; the full ServiceDiscovery package is the application's choice.
check_package LockFree.Balancing.ServiceDiscovery "LockFree.Balancing.Kubernetes Microsoft.Extensions.ServiceDiscovery.Abstractions" "LockFree.Balancing.Http Microsoft.Extensions.ServiceDiscovery"
# The YARP policies and destinations share the adapter's registry and never pull in the HTTP or gRPC integrations.
check_package LockFree.Balancing.Yarp "LockFree.Balancing.Kubernetes Yarp.ReverseProxy" "LockFree.Balancing.Http LockFree.Balancing.Grpc"

# The KubernetesClient mapping: its configuration type only, on top of the adapter; no HTTP or gRPC integration.
check_package LockFree.Balancing.KubernetesClient "LockFree.Balancing.Kubernetes KubernetesClient" "LockFree.Balancing.Http LockFree.Balancing.Grpc Microsoft.Extensions.Http Grpc.Net.Client"

count=$(ls "$out"/*.nupkg | wc -l)
if [[ "$count" -ne ${#projects[@]} ]]; then fail "expected ${#projects[@]} packages in $out, found $count (a test, bench or fake project is packable?)"; fi

if [[ "$failures" -ne 0 ]]; then
  echo "check-packages: $failures check(s) failed"
  exit 1
fi
echo "check-packages: all checks passed ($count packages in $out)"
