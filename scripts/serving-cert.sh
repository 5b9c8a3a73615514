#!/usr/bin/env bash
# Makes the serving certificate for clusters without cert-manager: a CA of its own and a serving
# certificate it signs, for the names kube-apiserver dials (smi-metrics.smi-metrics.svc, as the
# APIServices' service reference makes it). Prints the Secret smi-metrics-tls and the caBundle for
# the APIServices; with --apply, applies the Secret and patches both APIServices itself.
#
#   scripts/serving-cert.sh --out certs/            # certs/ca.{crt,key}, certs/tls.{crt,key}
#   scripts/render-manifests.sh --serving-cert certs/ ... | kubectl apply -f -
#
# Run again to renew the serving certificate: an existing CA in --out is kept, so the caBundle
# already in the cluster goes on verifying (the server re-reads renewed files by itself).
set -euo pipefail

usage() {
  cat <<'EOT'
usage: serving-cert.sh --out DIR [--namespace NS] [--service NAME] [--days N] [--ca-days N]
                       [--apply [--kubectl CMD]]
  --out DIR      where ca.crt, ca.key, tls.crt and tls.key are written (an existing CA is reused)
  --namespace    the server's namespace (default smi-metrics)
  --service      the server's Service (default smi-metrics)
  --days         validity of the serving certificate (default 365)
  --ca-days      validity of a new CA (default 3650)
  --apply        apply the Secret and patch both APIServices' caBundle with kubectl
  --kubectl CMD  the kubectl to use with --apply (default kubectl)
Prints the Secret manifest on standard output (unless --apply), then, on standard error, the
caBundle line to put into both APIServices.
EOT
}

out="" namespace=smi-metrics service=smi-metrics days=365 ca_days=3650 apply=0 kubectl=kubectl
while (($#)); do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --namespace) namespace=${2:?}; shift 2 ;;
    --service) service=${2:?}; shift 2 ;;
    --days) days=${2:?}; shift 2 ;;
    --ca-days) ca_days=${2:?}; shift 2 ;;
    --apply) apply=1; shift ;;
    --kubectl) kubectl=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "serving-cert: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n $out ]] || { echo "serving-cert: --out DIR is required" >&2; usage >&2; exit 2; }
[[ $days =~ ^[0-9]+$ && $ca_days =~ ^[0-9]+$ ]] || { echo "serving-cert: --days and --ca-days take whole days" >&2; exit 2; }
# A DNS-1123 label each, as Kubernetes names them.
for name in "$namespace" "$service"; do
  [[ $name =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || { echo "serving-cert: \"$name\" is not a valid Kubernetes name" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "serving-cert: needs openssl" >&2; exit 1; }

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -s $out/ca.crt && -s $out/ca.key ]]; then
  echo "serving-cert: reusing the CA in $out/ca.crt" >&2
else
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$ca_days" \
    -subj "/CN=$service.$namespace CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.crt"
  echo "serving-cert: made a CA valid $ca_days days: $out/ca.crt" >&2
fi

# kube-apiserver verifies the name <service>.<namespace>.svc; the others serve clients inside the
# cluster that use the longer or shorter forms.
sans="DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local,DNS:$service.$namespace,DNS:$service"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key" 2>/dev/null
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
cat >"$work/ext.cnf" <<EOT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans
EOT
openssl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/ext.cnf" \
  -out "$work/tls.crt" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" -purpose sslserver "$work/tls.crt" >/dev/null
mv "$work/tls.key" "$out/tls.key"
mv "$work/tls.crt" "$out/tls.crt"
chmod 644 "$out/ca.crt" "$out/tls.crt"
echo "serving-cert: made a serving certificate valid $days days for $sans: $out/tls.crt" >&2

b64() { base64 -w0 <"$1"; }
secret() {
  cat <<EOT
apiVersion: v1
kind: Secret
metadata:
  name: smi-metrics-tls
  namespace: $namespace
  labels: {app.kubernetes.io/name: smi-metrics}
type: kubernetes.io/tls
data:
  ca.crt: $(b64 "$out/ca.crt")
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
EOT
}

ca_bundle=$(b64 "$out/ca.crt")
if ((apply)); then
  secret | $kubectl apply -f -
  for version in v1alpha1 v1alpha2; do
    if $kubectl get apiservice "$version.metrics.smi-spec.io" >/dev/null 2>&1; then
      $kubectl patch apiservice "$version.metrics.smi-spec.io" --type=merge \
        -p "{\"spec\":{\"caBundle\":\"$ca_bundle\",\"insecureSkipTLSVerify\":false}}"
    fi
  done
else
  secret
  echo "serving-cert: the APIServices' spec.caBundle (scripts/render-manifests.sh --serving-cert $out fills it in):" >&2
  echo "  caBundle: $ca_bundle" >&2
fi
