// bench/kube_sync: time for the list+watch caches to sync N pods (plus their ReplicaSets and
// Deployments) from the fake Kubernetes API server over HTTPS, and the memory they hold per pod.
//
// The fake API server runs in a forked child, so the heap figures are the client's alone. The
// sync time includes the fake server producing the JSON (on the same machine), as a real
// apiserver's would be included.
//
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSMI_BUILD_BENCH=ON
//   cmake --build build-bench -j2 --target kube_sync_bench
//   build-bench/bench/kube_sync_bench [N ...]       (default: 1000 10000)
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakekube/fake_kube_api.h"
#include "kube/credentials.h"
#include "kube/watched_cluster.h"

namespace {

using nlohmann::json;

constexpr int kPodsPerDeployment = 10;
constexpr int kNamespaces = 20;

// Child: serve N pods, report port and CA on `out`, live until `in` closes.
[[noreturn]] void ServeFake(int pods, int out_fd, int in_fd) {
  smi::fakekube::FakeKubeApi api;
  json items = json::array();
  const int deployments = (pods + kPodsPerDeployment - 1) / kPodsPerDeployment;
  for (int n = 0; n < kNamespaces; ++n)
    items.push_back(smi::fakekube::MakeNamespace("ns-" + std::to_string(n)));
  int made = 0;
  for (int d = 0; d < deployments; ++d) {
    const std::string ns = "ns-" + std::to_string(d % kNamespaces);
    const std::string name = "app-" + std::to_string(d);
    json dep = smi::fakekube::MakeDeployment(ns, name, {{"app", name}}, kPodsPerDeployment);
    json rs = smi::fakekube::MakeReplicaSet(dep, "7d9f8b6c5" + std::to_string(d % 10));
    items.push_back(dep);
    items.push_back(rs);
    for (int p = 0; p < kPodsPerDeployment && made < pods; ++p, ++made) {
      items.push_back(smi::fakekube::MakePod(
          ns, rs["metadata"]["name"].get<std::string>() + "-" + std::to_string(p),
          {{"app", name}, {"pod-template-hash", "7d9f8b6c5" + std::to_string(d % 10)}}, rs,
          "10." + std::to_string(made / 65536) + "." + std::to_string(made / 256 % 256) + "." +
              std::to_string(made % 256)));
    }
  }
  api.Load(json{{"items", items}});
  items = json();
  api.Start();
  const std::string hello = json{{"port", api.port()}, {"ca", api.ca_pem()}}.dump() + "\n";
  (void)!write(out_fd, hello.data(), hello.size());
  char c;
  while (read(in_fd, &c, 1) > 0) {
  }
  api.Stop();
  _exit(0);
}

size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct Row {
  int pods;
  int page_size;
  double sync_s;
  uint64_t pages;
  size_t deployments, replicasets;
  double heap_mib;
  double bytes_per_pod;
  double rss_mib;
};

Row Run(int pods, int page_size) {
  int to_parent[2], to_child[2];
  if (pipe(to_parent) != 0 || pipe(to_child) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    ServeFake(pods, to_parent[1], to_child[0]);
  }
  close(to_parent[1]);
  close(to_child[0]);
  std::string line;
  char c;
  while (read(to_parent[0], &c, 1) == 1 && c != '\n') line += c;
  const json hello = json::parse(line);

  smi::kube::RestConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(hello["port"].get<int>());
  config.ca_pem = hello["ca"];
  config.token = std::make_shared<smi::kube::StaticTokenSource>("fake-token");
  smi::kube::WatchedClusterState::Options options;
  options.reflector.page_size = page_size;
  options.reflector.http.request_timeout = std::chrono::seconds(120);

  malloc_trim(0);
  const size_t heap0 = HeapInUse();
  const size_t rss0 = RssBytes();
  const auto t0 = std::chrono::steady_clock::now();
  Row row{};
  {
    smi::kube::WatchedClusterState state(config, options);
    state.Start();
    while (!state.Synced()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto t1 = std::chrono::steady_clock::now();
    auto snap = state.Snapshot();
    malloc_trim(0);
    const size_t heap1 = HeapInUse();
    const size_t rss1 = RssBytes();
    row.pods = static_cast<int>(snap->Count(smi::kube::Resource::kPods));
    row.page_size = page_size;
    row.sync_s = std::chrono::duration<double>(t1 - t0).count();
    row.pages = state.Stats(smi::kube::Resource::kPods).list_pages;
    row.deployments = snap->Count(smi::kube::Resource::kDeployments);
    row.replicasets = snap->Count(smi::kube::Resource::kReplicaSets);
    row.heap_mib = static_cast<double>(heap1 - heap0) / (1 << 20);
    row.bytes_per_pod = static_cast<double>(heap1 - heap0) / std::max(1, row.pods);
    row.rss_mib = (static_cast<double>(rss1) - static_cast<double>(rss0)) / (1 << 20);
    if (row.pods != pods) std::cerr << "warning: synced " << row.pods << " of " << pods << "\n";
    // Sanity: every pod resolves to its deployment through the caches.
    size_t owned = 0;
    for (const auto* p : snap->Pods()) owned += snap->OwnerOf(*p).has_value();
    if (owned != snap->Count(smi::kube::Resource::kPods)) std::cerr << "warning: unowned pods\n";
    state.Stop();
  }
  close(to_child[1]);
  close(to_parent[0]);
  waitpid(pid, nullptr, 0);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing a TLS connection must not kill the process
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoi(argv[i]));
  if (sizes.empty()) sizes = {1000, 10000};
  std::printf("%8s %6s %6s %6s %10s %7s %11s %10s %9s\n", "pods", "deploy", "rs", "limit",
              "sync (s)", "pages", "heap (MiB)", "bytes/pod", "RSS (MiB)");
  for (int n : sizes) {
    for (int page : {500, 0}) {
      const Row r = Run(n, page);
      std::printf("%8d %6zu %6zu %6s %10.3f %7llu %11.1f %10.0f %9.1f\n", r.pods, r.deployments,
                  r.replicasets, page ? std::to_string(page).c_str() : "none", r.sync_s,
                  static_cast<unsigned long long>(r.pages), r.heap_mib, r.bytes_per_pod, r.rss_mib);
      std::fflush(stdout);
    }
  }
  return 0;
}
