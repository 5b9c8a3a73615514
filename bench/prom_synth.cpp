// Synthetic Linkerd-meshed cluster for bench/prom_scale.sh (not a test): writes
//   DIR/series.om          OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`:
//                          Linkerd's response_total and response_latency_ms_bucket (inbound per
//                          pod, outbound per pod-to-pod edge) and `up`, labelled as linkerd-viz'
//                          Prometheus labels them (namespace, pod, deployment, pod_template_hash)
//   DIR/kube-objects.json  the matching Namespaces, Deployments, ReplicaSets and Pods (a List, as
//                          `kubectl get -o json` writes it) for the server's --kube-objects
// Shape: NAMESPACES x DEPLOYMENTS x PODS; pod j of deployment d calls pod j of deployments d+1 and
// d+2 of its namespace, and every other pod also pod j of deployment d+5 of the next namespace
// (2-3 edges per pod). Counters have a sample every 50 minutes from NOW-100m to NOW+100m, so any
// 2-hour window evaluated between NOW and NOW+100m holds at least two of them; `up` has one every
// 2 minutes from NOW-10m to NOW+110m. Links nothing from src/: the series are written as text.
//
//   prom_synth --out DIR [--namespaces 20] [--deployments 50] [--pods 10] [--now UNIX_SECONDS]
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::array<int, 25> kBoundsMs = {1,    2,    3,     4,     5,     10,    20,   30,   40,
                                           50,   100,  200,   300,   400,   500,   1000, 2000, 3000,
                                           4000, 5000, 10000, 20000, 30000, 40000, 50000};
// Cumulative share (per mille) of responses at or below each bound, then +Inf.
constexpr std::array<int, 26> kCumulativePerMille = {
    10,  40,  90,  160, 250, 520,  760,  860,  910,  940,  975,  990,  995,
    997, 998, 999, 999, 999, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};

struct Args {
  std::string out;
  int namespaces = 20, deployments = 50, pods = 10;
  long long now = 0;
};

std::string Ns(int n) {
  char b[32];
  std::snprintf(b, sizeof b, "ns-%02d", n);
  return b;
}
std::string Deployment(int d) {
  char b[32];
  std::snprintf(b, sizeof b, "svc-%03d", d);
  return b;
}
std::string Hash(int n, int d) {
  char b[32];
  std::snprintf(b, sizeof b, "%02x%03x5f9c", n & 0xff, d & 0xfff);
  return b;
}
std::string Pod(int n, int d, int p) {
  char b[64];
  std::snprintf(b, sizeof b, "svc-%03d-%s-p%04d", d, Hash(n, d).c_str(), p);
  return b;
}
std::string Ip(int n, int d, int p) {
  char b[32];
  std::snprintf(b, sizeof b, "10.%d.%d.%d", n + 1, d, p + 10);
  return b;
}

struct Edge {
  int n, d;  // the called pod's namespace and deployment (same pod index)
};

std::vector<Edge> Edges(const Args& a, int n, int d, int p) {
  std::vector<Edge> out = {{n, (d + 1) % a.deployments}, {n, (d + 2) % a.deployments}};
  if (p % 2 == 0) out.push_back({(n + 1) % a.namespaces, (d + 5) % a.deployments});
  return out;
}

class Writer {
 public:
  explicit Writer(const std::string& path) : f_(std::fopen(path.c_str(), "w")) {
    if (f_ == nullptr) throw std::runtime_error("cannot write " + path);
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~Writer() { std::fclose(f_); }
  std::FILE* f() { return f_; }

 private:
  std::FILE* f_;
};

// A pod's own target labels, as linkerd-viz' scrape config attaches them.
std::string Target(int n, int d, int p) {
  return "job=\"linkerd-proxy\",instance=\"" + Ip(n, d, p) + ":4191\",namespace=\"" + Ns(n) +
         "\",pod=\"" + Pod(n, d, p) + "\",deployment=\"" + Deployment(d) +
         "\",pod_template_hash=\"" + Hash(n, d) + "\"";
}

std::string Inbound(const Args&, int n, int d, int p) {
  return Target(n, d, p) + ",direction=\"inbound\",authority=\"" + Deployment(d) + "." + Ns(n) +
         ".svc.cluster.local:8080\",tls=\"true\"";
}

std::string Outbound(int n, int d, int p, const Edge& e) {
  return Target(n, d, p) + ",direction=\"outbound\",authority=\"" + Deployment(e.d) + "." +
         Ns(e.n) + ".svc.cluster.local:8080\",tls=\"true\",dst_deployment=\"" + Deployment(e.d) +
         "\",dst_namespace=\"" + Ns(e.n) + "\",dst_pod=\"" + Pod(e.n, e.d, p) +
         "\",dst_pod_template_hash=\"" + Hash(e.n, e.d) + "\",dst_service=\"" + Deployment(e.d) +
         "\"";
}

// Requests per 50-minute step of series `k` (a deterministic spread).
long long Rate(long long k) { return 3000 + (k * 7919) % 9000; }

constexpr int kSteps = 5;  // NOW-100m .. NOW+100m
constexpr long long kStepSeconds = 3000;

void Counter(std::FILE* f, const char* name, const std::string& labels, long long per_step,
             long long now) {
  for (int s = 0; s < kSteps; ++s) {
    std::fprintf(f, "%s{%s} %lld %lld\n", name, labels.c_str(), per_step * (s + 1),
                 now + (s - 2) * kStepSeconds);
  }
}

// Every (labels) series of one pod, inbound then its edges, in `call` order.
template <typename Fn>
void ForEachSeries(const Args& a, Fn fn) {
  for (int n = 0; n < a.namespaces; ++n) {
    for (int d = 0; d < a.deployments; ++d) {
      for (int p = 0; p < a.pods; ++p) {
        fn(Inbound(a, n, d, p));
        for (const Edge& e : Edges(a, n, d, p)) fn(Outbound(n, d, p, e));
      }
    }
  }
}

// Returns how many series it wrote.
long long WriteSeries(const Args& a) {
  Writer w(a.out + "/series.om");
  std::FILE* f = w.f();
  long long k = 0;
  std::fprintf(f, "# TYPE response counter\n");
  ForEachSeries(a, [&](const std::string& l) {
    const long long r = Rate(k++);
    Counter(f, "response_total", l + ",status_code=\"200\",classification=\"success\"", r - r / 50,
            a.now);
    Counter(f, "response_total", l + ",status_code=\"500\",classification=\"failure\"", r / 50,
            a.now);
  });
  k = 0;
  std::fprintf(f, "# TYPE response_latency_ms histogram\n");
  ForEachSeries(a, [&](const std::string& l) {
    const long long r = Rate(k++);
    for (size_t b = 0; b < kCumulativePerMille.size(); ++b) {
      const std::string le = b < kBoundsMs.size() ? std::to_string(kBoundsMs[b]) : "+Inf";
      Counter(f, "response_latency_ms_bucket", l + ",le=\"" + le + "\"",
              r * kCumulativePerMille[b] / 1000, a.now);
    }
  });
  std::fprintf(f, "# TYPE up gauge\n");
  for (int n = 0; n < a.namespaces; ++n) {
    for (int d = 0; d < a.deployments; ++d) {
      for (int p = 0; p < a.pods; ++p) {
        const std::string l = Target(n, d, p);
        for (long long t = a.now - 600; t <= a.now + 6600; t += 120) {
          std::fprintf(f, "up{%s} 1 %lld\n", l.c_str(), t);
        }
      }
    }
  }
  std::fprintf(f, "# EOF\n");
  return k * 28 + 1LL * a.namespaces * a.deployments * a.pods;
}

std::string Uid(const std::string& kind, int n, int d, int p) {
  char b[64];
  std::snprintf(b, sizeof b, "%08x-0000-4000-8000-%04x%04x%04x", static_cast<unsigned>(kind[0]),
                n & 0xffff, d & 0xffff, p & 0xffff);
  return b;
}

std::string Meta(const std::string& kind, const std::string& ns, const std::string& name,
                 const std::string& uid, const std::string& extra) {
  return "\"metadata\":{\"name\":\"" + name + "\"," +
         (ns.empty() ? "" : "\"namespace\":\"" + ns + "\",") + "\"uid\":\"" + uid +
         "\",\"resourceVersion\":\"1\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\"" + extra +
         "}";
}

std::string Owner(const std::string& kind, const std::string& name, const std::string& uid) {
  return ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"" + kind + "\",\"name\":\"" +
         name + "\",\"uid\":\"" + uid + "\",\"controller\":true}]";
}

void WriteKubeObjects(const Args& a) {
  Writer w(a.out + "/kube-objects.json");
  std::FILE* f = w.f();
  std::fprintf(f, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n");
  bool first = true;
  auto item = [&](const std::string& text) {
    std::fprintf(f, "%s%s", first ? "" : ",\n", text.c_str());
    first = false;
  };
  for (int n = 0; n < a.namespaces; ++n) {
    item("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\"," +
         Meta("Namespace", "", Ns(n), Uid("N", n, 0, 0), "") +
         ",\"status\":{\"phase\":\"Active\"}}");
    for (int d = 0; d < a.deployments; ++d) {
      const std::string dep = Deployment(d), rs = dep + "-" + Hash(n, d);
      const std::string labels = ",\"labels\":{\"app\":\"" + dep + "\"}";
      const std::string replicas = std::to_string(a.pods);
      item("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"," +
           Meta("Deployment", Ns(n), dep, Uid("D", n, d, 0), labels) +
           ",\"spec\":{\"replicas\":" + replicas + ",\"selector\":{\"matchLabels\":{\"app\":\"" +
           dep + "\"}}},\"status\":{\"replicas\":" + replicas + "}}");
      item("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\"," +
           Meta("ReplicaSet", Ns(n), rs, Uid("R", n, d, 0),
                labels + Owner("Deployment", dep, Uid("D", n, d, 0))) +
           ",\"spec\":{\"replicas\":" + replicas + "}}");
      for (int p = 0; p < a.pods; ++p) {
        const std::string pod_labels =
            ",\"labels\":{\"app\":\"" + dep + "\",\"pod-template-hash\":\"" + Hash(n, d) + "\"}";
        item("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"," +
             Meta("Pod", Ns(n), Pod(n, d, p), Uid("P", n, d, p),
                  pod_labels + Owner("ReplicaSet", rs, Uid("R", n, d, 0))) +
             ",\"spec\":{\"nodeName\":\"node-" + std::to_string(p % 8) +
             "\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"" + Ip(n, d, p) + "\"}}");
      }
    }
  }
  std::fprintf(f, "\n]}\n");
}

int Int(const char* text, const char* flag) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v <= 0 || v > 100000) {
    throw std::invalid_argument(std::string(flag) + " needs a positive number, not \"" + text +
                                "\"");
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a;
    a.now = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i];
      if (flag == "--out") {
        a.out = argv[i + 1];
      } else if (flag == "--namespaces") {
        a.namespaces = Int(argv[i + 1], "--namespaces");
      } else if (flag == "--deployments") {
        a.deployments = Int(argv[i + 1], "--deployments");
      } else if (flag == "--pods") {
        a.pods = Int(argv[i + 1], "--pods");
      } else if (flag == "--now") {
        a.now = std::atoll(argv[i + 1]);
      } else {
        throw std::invalid_argument("unknown flag " + flag);
      }
    }
    if (a.out.empty() || argc % 2 == 0) {
      throw std::invalid_argument(
          "usage: prom_synth --out DIR [--namespaces N] [--deployments N] [--pods N] [--now S]");
    }
    if (a.deployments < 6) throw std::invalid_argument("--deployments needs at least 6");
    const long long series = WriteSeries(a);
    WriteKubeObjects(a);
    std::printf("%lld pods, %lld series\n", 1LL * a.namespaces * a.deployments * a.pods, series);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prom_synth: %s\n", e.what());
    return 2;
  }
  return 0;
}
