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

#include "meshsim/exposition.h"
#include "meshsim/outputs.h"
#include "meshsim/topology.h"

namespace {

constexpr int kExitUsage = 2;  // bad flags or a bad topology file
constexpr int kExitRuntime = 1;

constexpr const char* kUsage = R"(usage: meshsim [flags]
Simulates a Linkerd-meshed application: every pod serves linkerd2-proxy metrics at
http://<pod address>:<port>/metrics; counters grow deterministically with the time since start.

  --topology FILE                 topology YAML (default: the embedded emojivoto topology,
                                  also shipped as tools/meshsim/emojivoto.yaml)
  --address-base IP               first pod address, counting up in 127.0.0.0/8 (default 127.0.10.1)
  --port N                        proxy admin port on every pod address (default 4191)
  --write-prometheus-config PATH  write a prometheus.yml scraping every pod (job linkerd-proxy)
  --scrape-interval DURATION      scrape/evaluation interval for that file (default 1s)
  --write-topology PATH           write the resolved topology as JSON
  --print-default-topology        print the embedded topology YAML and exit
  --check                         load the topology, write the requested files and exit
  -h, --help                      this text

Exit codes: 0 stopped by SIGINT/SIGTERM (or --check done), 1 runtime error (e.g. bind),
2 bad flags or topology.
)";

struct Flags {
  std::optional<std::string> topology_file;
  std::string address_base = "127.0.10.1";
  int port = 4191;
  std::optional<std::string> prometheus_config;
  std::string scrape_interval = "1s";
  std::optional<std::string> topology_json;
  bool check_only = false;
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
        flags.port = std::stoi(text, &used);
        if (used != text.size() || flags.port < 1 || flags.port > 65535)
          throw std::out_of_range("");
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
    } else if (arg == "--write-topology") {
      flags.topology_json = value();
    } else if (arg == "--check") {
      flags.check_only = true;
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
    return meshsim::ParseTopology(text, flags.address_base);
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

  if (flags.prometheus_config) {
    WriteFile(*flags.prometheus_config,
              meshsim::PrometheusConfig(topo, flags.port, flags.scrape_interval));
  }
  if (flags.topology_json) {
    WriteFile(*flags.topology_json, meshsim::TopologyJson(topo, flags.port).dump(2) + "\n");
  }
  if (flags.check_only) return 0;

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
    server->Get("/metrics", [&topo, &start, i, process_start_unix](const httplib::Request&,
                                                                   httplib::Response& res) {
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      res.set_content(meshsim::RenderPodMetrics(topo, i, seconds, process_start_unix),
                      "text/plain; version=0.0.4");
    });
    server->Get("/ready", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ready\n", "text/plain");
    });
    if (!server->bind_to_port(pod.ip.c_str(), flags.port)) {
      std::cerr << "meshsim: cannot listen on " << pod.ip << ":" << flags.port << " for pod "
                << pod.ns << "/" << pod.name << " (address in use?)\n";
      return kExitRuntime;
    }
    std::cout << "meshsim: pod " << pod.ns << "/" << pod.name << " (" << meshsim::KindName(w.kind)
              << " " << w.name << (w.idle ? ", idle" : "") << ") http://" << pod.ip << ":"
              << flags.port << "/metrics" << std::endl;
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
  std::cout << "meshsim: ready (" << topo.pods.size() << " pods, " << topo.calls.size() << " calls)"
            << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "meshsim: stopping on signal " << signal_number << std::endl;
  for (auto& server : servers) server->stop();
  for (auto& listener : listeners) listener.join();
  std::cout << "meshsim: stopped" << std::endl;
  return 0;
}
