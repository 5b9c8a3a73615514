#!/usr/bin/env bash
# Writes the install manifest (deploy/smi-metrics.yaml, one file in apply order) with your
# settings, on standard output:
#
#   scripts/render-manifests.sh --image registry.example.com/smi-metrics-server:0.1.0 \
#     [--serving-cert certs/] [--prometheus-url URL] [--mesh linkerd|istio] | kubectl apply -f -
#
# --serving-cert DIR (from scripts/serving-cert.sh) swaps cert-manager for that certificate: the
# Secret smi-metrics-tls is added, cert-manager's Issuers and Certificates are left out, and both
# APIServices get the CA as caBundle. Without it the output needs cert-manager in the cluster.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'EOT'
usage: render-manifests.sh [--image REF] [--serving-cert DIR] [--prometheus-url URL]
                           [--mesh NAME] [--from FILE]
  --image REF           the image the Deployment runs (a name with a tag or a digest)
  --serving-cert DIR    ca.crt, tls.crt and tls.key made by scripts/serving-cert.sh
  --prometheus-url URL  the Prometheus HTTP API the server reads (the ConfigMap's prometheus.url)
  --mesh NAME           the built-in mesh profile (the ConfigMap's mesh.profile): linkerd, istio
  --from FILE           the manifest to start from (default deploy/smi-metrics.yaml)
EOT
}

image="" cert_dir="" prometheus_url="" mesh="" from="$root/deploy/smi-metrics.yaml"
while (($#)); do
  case "$1" in
    --image) image=${2:?--image needs a reference}; shift 2 ;;
    --serving-cert) cert_dir=${2:?--serving-cert needs a directory}; shift 2 ;;
    --prometheus-url) prometheus_url=${2:?--prometheus-url needs a URL}; shift 2 ;;
    --mesh) mesh=${2:?--mesh needs a profile name}; shift 2 ;;
    --from) from=${2:?--from needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "render-manifests: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
fail() { echo "render-manifests: $*" >&2; exit 2; }
[[ -r $from ]] || fail "cannot read $from"

if [[ -n $image ]]; then
  # An image reference as registries and kubelets parse it (lower-case repository path, optional
  # registry host and port), with a tag or a digest: no implicit "latest".
  component='[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*'
  host='[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?'
  tag=':[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'
  digest='@sha256:[0-9a-f]{64}'
  re="^(($host)/)?$component(/$component)*(($tag)($digest)?|$digest)$"
  [[ $image =~ $re ]] || fail "--image \"$image\" is not an image reference with a tag or digest (e.g. registry.example.com/smi-metrics-server:0.1.0)"
fi
if [[ -n $prometheus_url ]]; then
  [[ $prometheus_url =~ ^https?://[^[:space:]\"\']+$ ]] || fail "--prometheus-url \"$prometheus_url\" is not an http:// or https:// URL"
fi
if [[ -n $mesh ]]; then
  [[ $mesh =~ ^[a-z0-9-]+$ ]] || fail "--mesh \"$mesh\" is not a profile name"
fi

secret_file=""
ca_bundle=""
if [[ -n $cert_dir ]]; then
  for f in ca.crt tls.crt tls.key; do
    [[ -s $cert_dir/$f ]] || fail "$cert_dir/$f is missing (make it with scripts/serving-cert.sh --out $cert_dir)"
  done
  namespace=$(awk '/^kind: Namespace$/ {ns = 1} ns && /^  name: / {print $2; exit}' "$from")
  service_name="smi-metrics.$namespace.svc"
  openssl verify -CAfile "$cert_dir/ca.crt" -purpose sslserver "$cert_dir/tls.crt" >/dev/null 2>&1 ||
    fail "$cert_dir/tls.crt is not a serving certificate signed by $cert_dir/ca.crt"
  openssl x509 -in "$cert_dir/tls.crt" -noout -checkhost "$service_name" 2>/dev/null | grep -q 'does match' ||
    fail "$cert_dir/tls.crt is not valid for $service_name, the name kube-apiserver dials"
  ca_bundle=$(base64 -w0 <"$cert_dir/ca.crt")
  secret_file=$(mktemp)
  trap 'rm -f "$secret_file"' EXIT
  cat >"$secret_file" <<EOT
# The serving certificate made by scripts/serving-cert.sh (its CA is the APIServices' caBundle).
apiVersion: v1
kind: Secret
metadata:
  name: smi-metrics-tls
  namespace: $namespace
  labels: {app.kubernetes.io/name: smi-metrics}
type: kubernetes.io/tls
data:
  ca.crt: $ca_bundle
  tls.crt: $(base64 -w0 <"$cert_dir/tls.crt")
  tls.key: $(base64 -w0 <"$cert_dir/tls.key")
EOT
fi

# Documents are separated by "---" lines; each is rewritten on its own, by its kind.
awk -v image="$image" -v url="$prometheus_url" -v mesh="$mesh" -v ca_bundle="$ca_bundle" \
  -v secret_file="$secret_file" -v from="${from#"$root"/}" '
function flush(   i, kind, line, out, n) {
  if (ndoc == 0) return
  kind = ""
  for (i = 1; i <= ndoc; i++) if (doc[i] ~ /^kind: /) { kind = substr(doc[i], 7); break }
  api = ""
  for (i = 1; i <= ndoc; i++) if (doc[i] ~ /^apiVersion: /) { api = substr(doc[i], 13); break }
  if (ca_bundle != "" && api ~ /^cert-manager\.io\//) { ndoc = 0; return }
  if (ca_bundle != "" && kind == "Deployment") {
    emit_separator()
    while ((getline line < secret_file) > 0) print line
    close(secret_file)
  }
  emit_separator()
  first = (printed_docs == 1)
  for (i = 1; i <= ndoc; i++) {
    line = doc[i]
    if (first && header_done == 0 && line ~ /^#/) continue
    if (kind == "Deployment" && image != "" && line ~ /^ +image: /) {
      sub(/image: .*/, "image: " image, line)
    }
    if (kind == "ConfigMap" && url != "" && line ~ /^      url: /) sub(/url: .*/, "url: " url, line)
    if (kind == "ConfigMap" && mesh != "" && line ~ /^      profile: /) sub(/profile: .*/, "profile: " mesh, line)
    if (ca_bundle != "" && line ~ /^# cert-manager: /) continue
    if (kind == "APIService" && ca_bundle != "") {
      if (line ~ /^  annotations:$/ || line ~ /cert-manager\.io\/inject-ca-from/) continue
    }
    print line
  }
  if (kind == "APIService" && ca_bundle != "") print "  caBundle: " ca_bundle
  ndoc = 0
}
function emit_separator() {
  if (printed_docs > 0) print "---"
  else {
    print "# smi-metrics-server: the SMI Traffic Metrics API (metrics.smi-spec.io), in apply order."
    print "# Rendered by scripts/render-manifests.sh from " from "."
    print (ca_bundle != "" ? "# The serving certificate is the one scripts/serving-cert.sh made." : \
       "# cert-manager makes the serving certificate and injects its CA.")
  }
  printed_docs++
}
/^---$/ { flush(); next }
{ doc[++ndoc] = $0 }
END { flush() }
' "$from"
