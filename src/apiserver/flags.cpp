#include "apiserver/flags.h"

#include <charconv>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "model/duration.h"

namespace smi::apiserver {

namespace {

struct FlagSpec {
  std::string help;
  std::function<void(ServerFlags&, const std::string&)> set;
  bool boolean = false;
};

int ParseInt(const std::string& name, const std::string& value, int min, int max) {
  int out = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || out < min || out > max) {
    throw std::invalid_argument("--" + name + "=" + value + ": expected a whole number from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return out;
}

std::chrono::milliseconds ParseDurationFlag(const std::string& name, const std::string& value) {
  std::string error;
  const auto d = model::ParseDuration(value, &error);
  if (!d) throw std::invalid_argument("--" + name + "=" + value + ": " + error);
  return *d;
}

bool ParseBool(const std::string& name, const std::string& value) {
  if (value.empty() || value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  throw std::invalid_argument("--" + name + "=" + value + ": expected true or false");
}

const std::map<std::string, FlagSpec>& Specs() {
  static const std::map<std::string, FlagSpec> specs = {
      {"bind-address",
       {"address to listen on (default 0.0.0.0)",
        [](ServerFlags& f, const std::string& v) { f.bind_address = v; }}},
      {"secure-port",
       {"HTTPS port (default 8443)",
        [](ServerFlags& f, const std::string& v) {
          f.secure_port = ParseInt("secure-port", v, 1, 65535);
        }}},
      {"tls-cert-file",
       {"serving certificate (PEM, may include the chain); without it a self-signed one is made",
        [](ServerFlags& f, const std::string& v) { f.tls_cert_file = v; }}},
      {"tls-private-key-file",
       {"key of --tls-cert-file (PEM)",
        [](ServerFlags& f, const std::string& v) { f.tls_private_key_file = v; }}},
      {"client-ca-file",
       {"CA bundle (PEM) whose client certificates authenticate users (CN = user, O = groups)",
        [](ServerFlags& f, const std::string& v) { f.client_ca_file = v; }}},
      {"threads",
       {"request threads; keep it at least the number of concurrent keep-alive clients (default "
        "32)",
        [](ServerFlags& f, const std::string& v) { f.threads = ParseInt("threads", v, 2, 4096); }}},
      {"write-kubeconfig",
       {"make a client CA and an admin client certificate, and write a kubeconfig for them here",
        [](ServerFlags& f, const std::string& v) { f.write_kubeconfig = v; }}},
      {"mesh",
       {"mesh whose proxy metrics Prometheus holds: linkerd (default)",
        [](ServerFlags& f, const std::string& v) { f.mesh = v; }}},
      {"prometheus-url",
       {"base URL of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics)",
        [](ServerFlags& f, const std::string& v) { f.prometheus_url = v; }}},
      {"prometheus-timeout",
       {"how long one Prometheus query may take (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_timeout = ParseDurationFlag("prometheus-timeout", v);
        }}},
      {"prometheus-ca-file",
       {"CA bundle (PEM) to verify an https:// Prometheus with",
        [](ServerFlags& f, const std::string& v) { f.prometheus_ca_file = v; }}},
      {"prometheus-bearer-token-file",
       {"file holding a bearer token sent to Prometheus",
        [](ServerFlags& f, const std::string& v) { f.prometheus_bearer_token_file = v; }}},
      {"prometheus-insecure-skip-tls-verify",
       {"do not verify an https:// Prometheus' certificate",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_insecure_skip_tls_verify =
              ParseBool("prometheus-insecure-skip-tls-verify", v);
        },
        true}},
      {"proxy-job",
       {"Prometheus job that scrapes the mesh proxies (default linkerd-proxy, as linkerd-viz names "
        "it)",
        [](ServerFlags& f, const std::string& v) { f.proxy_job = v; }}},
      {"evaluation-delay",
       {"answer at the whole second at least this far in the past, so in-flight scrapes cannot "
        "change "
        "an answer once given (default 1s)",
        [](ServerFlags& f, const std::string& v) {
          f.evaluation_delay = ParseDurationFlag("evaluation-delay", v);
        }}},
      {"help",
       {"print this help", [](ServerFlags& f, const std::string&) { f.help = true; }, true}},
  };
  return specs;
}

}  // namespace

ServerFlags ParseFlags(const std::vector<std::string>& args) {
  ServerFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      throw std::invalid_argument("unexpected argument " + arg + " (flags start with --)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto it = Specs().find(name);
    if (it == Specs().end())
      throw std::invalid_argument("unknown flag --" + name + " (see --help)");
    if (!value && !it->second.boolean) {
      if (i + 1 >= args.size()) throw std::invalid_argument("flag --" + name + " needs a value");
      value = args[++i];
    }
    it->second.set(flags, value.value_or(""));
  }
  if (flags.help) return flags;
  if (flags.prometheus_url.empty()) {
    throw std::invalid_argument(
        "--prometheus-url is required, e.g. --prometheus-url=http://prometheus:9090");
  }
  if (flags.mesh != "linkerd") {
    throw std::invalid_argument("--mesh=" + flags.mesh + ": supported meshes are: linkerd");
  }
  if (flags.tls_cert_file.empty() != flags.tls_private_key_file.empty()) {
    throw std::invalid_argument("--tls-cert-file and --tls-private-key-file go together");
  }
  if (!flags.write_kubeconfig.empty() && !flags.client_ca_file.empty()) {
    throw std::invalid_argument(
        "--write-kubeconfig makes its own client CA and cannot be combined with --client-ca-file");
  }
  return flags;
}

std::string FlagsUsage() {
  std::ostringstream out;
  out << "Usage: smi-metrics-server --prometheus-url=URL [flags]\n\n"
         "Serves the SMI Traffic Metrics API (metrics.smi-spec.io) over HTTPS from mesh proxy "
         "metrics "
         "held by Prometheus.\n\nFlags:\n";
  for (const auto& [name, spec] : Specs()) out << "  --" << name << "\n      " << spec.help << "\n";
  return out.str();
}

}  // namespace smi::apiserver
