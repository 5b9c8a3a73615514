// fakekube: the fake Kubernetes API server as a program, for trying the server's Kubernetes
// client by hand: serves the given object files until interrupted and writes a kubeconfig.
//   fakekube [--kubeconfig=PATH] [--token=T] [--split-versions=v1alpha2,v1alpha4] FILE.json...
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fakekube/fake_kube_api.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  smi::fakekube::FakeKubeApi::Options options;
  std::string kubeconfig_path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--kubeconfig=", 0) == 0) {
      kubeconfig_path = a.substr(13);
    } else if (a.rfind("--token=", 0) == 0) {
      options.tokens = {a.substr(8)};
    } else if (a.rfind("--split-versions=", 0) == 0) {
      options.split_versions.clear();
      std::stringstream s(a.substr(17));
      for (std::string v; std::getline(s, v, ',');) {
        if (!v.empty()) options.split_versions.push_back(v);
      }
    } else if (a == "--help" || a == "-h" || a.rfind("--", 0) == 0) {
      std::cerr << "usage: fakekube [--kubeconfig=PATH] [--token=T] "
                   "[--split-versions=v1alpha2,...] FILE.json...\n";
      return a.rfind("--help", 0) == 0 || a == "-h" ? 0 : 2;
    } else {
      files.push_back(a);
    }
  }
  try {
    smi::fakekube::FakeKubeApi api(options);
    for (const auto& f : files) api.LoadFile(f);
    api.Start();
    if (!kubeconfig_path.empty()) {
      std::ofstream(kubeconfig_path) << api.Kubeconfig(options.tokens.at(0));
    }
    std::cout << "fakekube serving " << api.url() << " (token " << options.tokens.at(0) << ")"
              << std::endl;
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    api.Stop();
  } catch (const std::exception& e) {
    std::cerr << "fakekube: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
