// meshsim: serves the metrics of simulated linkerd2-proxies, one loopback address per pod.
#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "meshsim/event_loop_server.h"
#include "meshsim/exposition.h"
#include "meshsim/istio.h"
#include "meshsim/kube.h"
#include "meshsim/outputs.h"
#include "meshsim/topology.h"

namespace {

constexpr int kExitUsage = 2;  // bad flags or a bad topology file
constexpr int kExitRuntime = 1;

constexpr const char* kUsage = R"(usage: meshsim [flags]
Simulates a meshed application: every pod serves its sidecar's metrics, counters growing
deterministically with the time since start.
  linkerd: linkerd2-proxy at http://<pod address>:<port>/metrics (port 4191)
  istio:   the merged istio-agent endpoint http://<pod address>:<port>/stats/prometheus
           (port 15020; Istio telemetry v2 istio_requests_total and
           istio_request_duration_milliseconds, reported by both sidecars of a call)

  --topology FILE                 topology YAML (default: the embedded emojivoto topology,
                                  also shipped as tools/meshsim/emojivoto.yaml)
  --mesh linkerd|istio            the mesh (default: the topology's `mesh:`, else linkerd)
  --address-base IP               first pod address, counting up in 127.0.0.0/8 (default 127.0.10.1)
  --port N                        sidecar metrics port on every pod address
                                  (default 4191 for linkerd, 15020 for istio)
  --write-prometheus-config PATH  write a prometheus.yml scraping every pod (job linkerd-proxy
                                  for linkerd, kubernetes-pods for istio)
  --scrape-interval DURATION      scrape/evaluation interval for that file (default 1s)
  --write-topology PATH           write the resolved topology as JSON
  --write-kube-objects PATH       write the topology's Kubernetes objects as a v1 List (JSON)
  --print-default-topology        print the embedded topology YAML and exit
  --check                         load the topology, write the requested files and exit
  --event-loop                    serve every pod from one thread (for thousands of pods; the
                                  default runs a small HTTP server with its own threads per pod)
  --shard K/N                     with --event-loop: serve only the K-th of N equal runs of pods
                                  (0-based), so N processes share the descriptors of many pods
  -h, --help                      this text

Exit codes: 0 stopped by SIGINT/SIGTERM (or --check done), 1 runtime error (e.g. bind),
2 bad flags or topology.
)";

struct Flags {
  std::optional<std::string> topology_file;
  std::string address_base = "127.0.10.1";
  std::optional<int> port;
  std::optional<meshsim::Mesh> mesh;
  std::optional<std::string> prometheus_config;
  std::optional<std::string> kube_objects;
  std::string scrape_interval = "1s";
  std::optional<std::string> topology_json;
  bool check_only = false;
  bool event_loop = false;
  int shard = 0;
  int shards = 1;
};

[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << "meshsim: " << message << "\n(see meshsim --help)\n";
  std::exit(kExitUsage);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--print-default-topology") {
      std::cout << meshsim::DefaultTopologyYaml();
      std::exit(0);
    } else if (arg == "--topology") {
      flags.topology_file = value();
    } else if (arg == "--address-base") {
      flags.address_base = value();
    } else if (arg == "--port") {
      const std::string text = value();
      try {
        std::size_t used = 0;
        const int port = std::stoi(text, &used);
        if (used != text.size() || port < 1 || port > 65535) throw std::out_of_range("");
        flags.port = port;
      } catch (const std::exception&) {
        UsageError("--port must be a number from 1 to 65535, not '" + text + "'");
      }
    } else if (arg == "--write-prometheus-config") {
      flags.prometheus_config = value();
    } else if (arg == "--scrape-interval") {
      flags.scrape_interval = value();
      if (!meshsim::ParseDurationMs(flags.scrape_interval)) {
        UsageError("--scrape-interval must be a duration like 500ms, 1s or 1m, not '" +
                   flags.scrape_interval + "'");
      }
    } else if (arg == "--mesh") {
      try {
        flags.mesh = meshsim::ParseMesh(value());
      } catch (const meshsim::TopologyError& e) {
        UsageError(std::string("--mesh: ") + e.what());
      }
    } else if (arg == "--write-kube-objects") {
      flags.kube_objects = value();
    } else if (arg == "--write-topology") {
      flags.topology_json = value();
    } else if (arg == "--check") {
      flags.check_only = true;
    } else if (arg == "--event-loop") {
      flags.event_loop = true;
    } else if (arg == "--shard") {
      const std::string text = value();
      int k = -1, n = 0;
      char slash = 0, extra = 0;
      std::istringstream in(text);
      if (!(in >> k >> slash >> n) || slash != '/' || in >> extra || n < 1 || k < 0 || k >= n) {
        UsageError("--shard must be K/N with 0 <= K < N, not '" + text + "'");
      }
      flags.shard = k;
      flags.shards = n;
    } else {
      UsageError("unknown flag '" + arg + "'");
    }
  }
  return flags;
}

meshsim::Topology LoadTopology(const Flags& flags) {
  std::string text = meshsim::DefaultTopologyYaml();
  std::string source = "embedded emojivoto topology";
  if (flags.topology_file) {
    std::ifstream in(*flags.topology_file);
    if (!in) UsageError("cannot read topology file " + *flags.topology_file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    source = *flags.topology_file;
  }
  try {
    const std::uint32_t base = meshsim::ParseIPv4(flags.address_base);
    if ((base >> 24) != 127) UsageError("--address-base must be in 127.0.0.0/8");
  } catch (const meshsim::TopologyError& e) {
    UsageError(std::string("--address-base: ") + e.what());
  }
  try {
    meshsim::Topology topo = meshsim::ParseTopology(text, flags.address_base);
    if (flags.mesh) topo.mesh = *flags.mesh;
    return topo;
  } catch (const meshsim::TopologyError& e) {
    std::cerr << "meshsim: bad topology (" << source << "): " << e.what() << "\n";
    std::exit(kExitUsage);
  }
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  if (!out.flush()) {
    std::cerr << "meshsim: cannot write " << path << "\n";
    std::exit(kExitRuntime);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const meshsim::Topology topo = LoadTopology(flags);
  const bool istio = topo.mesh == meshsim::Mesh::kIstio;
  const int port = flags.port.value_or(istio ? 15020 : 4191);
  const std::string path = meshsim::MetricsPath(topo.mesh);

  if (flags.prometheus_config) {
    WriteFile(*flags.prometheus_config,
              meshsim::PrometheusConfig(topo, port, flags.scrape_interval));
  }
  if (flags.topology_json) {
    WriteFile(*flags.topology_json, meshsim::TopologyJson(topo, port).dump(2) + "\n");
  }
  if (flags.kube_objects) {
    WriteFile(*flags.kube_objects, meshsim::KubeObjects(topo, port).dump(2) + "\n");
  }
  if (flags.check_only) return 0;
  if (flags.shards > 1 && !flags.event_loop) {
    std::cerr << "meshsim: --shard needs --event-loop\n";
    return kExitUsage;
  }

  // Signals are taken by sigwait() in this thread only. A shell starts background jobs with
  // SIGINT ignored; restore the default so that SIGINT still stops the simulator.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  using Clock = std::chrono::steady_clock;
  Clock::time_point start{};  // set before any listener accepts
  const auto process_start_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();

  if (flags.event_loop) {
    meshsim::EventLoopServer server;
    // This process' run of pods: [first, first + addresses.size()).
    const std::size_t first = topo.pods.size() * flags.shard / flags.shards;
    const std::size_t last = topo.pods.size() * (flags.shard + 1) / flags.shards;
    std::vector<std::string> addresses;
    for (std::size_t i = first; i < last; ++i) addresses.push_back(topo.pods[i].ip);
    const auto failed = server.Bind(
        addresses, port,
        [&, path_of_metrics = path](std::size_t shard_index,
                                    std::string_view path) -> std::optional<meshsim::Page> {
          const std::size_t i = first + shard_index;
          if (path == "/ready") return meshsim::Page{"text/plain", "ready\n"};
          if (path != "/metrics" && path != path_of_metrics) return std::nullopt;
          const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
          return meshsim::Page{
              "text/plain; version=0.0.4",
              istio ? meshsim::RenderIstioPodMetrics(topo, i, seconds, process_start_unix)
                    : meshsim::RenderPodMetrics(topo, i, seconds, process_start_unix)};
        });
    if (!failed.empty()) {
      std::cerr << "meshsim: cannot listen on " << failed.front() << ":" << port << " (and "
                << failed.size() - 1 << " other addresses; address in use?)\n";
      return kExitRuntime;
    }
    start = Clock::now();
    std::thread loop([&server] { server.Run(); });
    std::cout << "meshsim: ready (" << meshsim::MeshName(topo.mesh) << ", " << topo.pods.size()
              << " pods, " << topo.calls.size() << " calls, " << topo.splits.size()
              << " traffic splits, one event loop)" << std::endl;
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::cout << "meshsim: stopping on signal " << signal_number << std::endl;
    server.Stop();
    loop.join();
    std::cout << "meshsim: stopped" << std::endl;
    return 0;
  }

  std::vector<std::unique_ptr<httplib::Server>> servers;
  for (std::size_t i = 0; i < topo.pods.size(); ++i) {
    const meshsim::Pod& pod = topo.pods[i];
    const meshsim::Workload& w = topo.workloads[pod.workload];
    auto server = std::make_unique<httplib::Server>();
    server->new_task_queue = [] { return new httplib::ThreadPool(2); };
    server->set_tcp_nodelay(true);
    // httplib's default also sets SO_REUSEPORT, which would let a second simulator share the
    // address and answer half the scrapes with other counters; a clash must fail instead.
    server->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // istio-agent serves the merged stats at /stats/prometheus and also at /metrics.
    const auto handler = [&topo, &start, i, istio, process_start_unix](const httplib::Request&,
                                                                       httplib::Response& res) {
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      res.set_content(istio ? meshsim::RenderIstioPodMetrics(topo, i, seconds, process_start_unix)
                            : meshsim::RenderPodMetrics(topo, i, seconds, process_start_unix),
                      "text/plain; version=0.0.4");
    };
    server->Get("/metrics", handler);
    if (istio) server->Get("/stats/prometheus", handler);
    server->Get("/ready", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ready\n", "text/plain");
    });
    if (!server->bind_to_port(pod.ip.c_str(), port)) {
      std::cerr << "meshsim: cannot listen on " << pod.ip << ":" << port << " for pod " << pod.ns
                << "/" << pod.name << " (address in use?)\n";
      return kExitRuntime;
    }
    std::cout << "meshsim: pod " << pod.ns << "/" << pod.name << " (" << meshsim::KindName(w.kind)
              << " " << w.name << (w.idle ? ", idle" : "") << ") http://" << pod.ip << ":" << port
              << path << std::endl;
    servers.push_back(std::move(server));
  }

  start = Clock::now();
  std::vector<std::thread> listeners;
  for (auto& server : servers) {
    listeners.emplace_back([s = server.get()] { s->listen_after_bind(); });
  }
  // stop() is a no-op on a server whose accept loop has not started yet, so a signal that
  // arrived too early would leave a thread behind: wait for every loop first.
  for (auto& server : servers) {
    while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::cout << "meshsim: ready (" << meshsim::MeshName(topo.mesh) << ", " << topo.pods.size()
            << " pods, " << topo.calls.size() << " calls, " << topo.splits.size()
            << " traffic splits)" << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "meshsim: stopping on signal " << signal_number << std::endl;
  for (auto& server : servers) server->stop();
  for (auto& listener : listeners) listener.join();
  std::cout << "meshsim: stopped" << std::endl;
  return 0;
}
