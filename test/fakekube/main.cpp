// fakekube: the fake Kubernetes API server as a program, for trying the server's Kubernetes
// client by hand: serves the given object files until interrupted and writes a kubeconfig.
//   fakekube [--kubeconfig=PATH] [--token=T] [--split-versions=v1alpha2,v1alpha4]
//            [--fail=RESOURCE:STATUS]... [--control=FIFO] FILE.json...
// --fail answers every request for RESOURCE (e.g. pods) with STATUS until told otherwise, so a
// client's caches cannot sync yet. --control makes FIFO (a named pipe) and takes one command a
// line from it, for tests driving the fake from another process:
//   apply {"kind":...}           create or replace an object (one line of JSON); ADDED/MODIFIED
//   delete KIND NAMESPACE NAME   delete (NAMESPACE "-" for cluster-scoped objects); DELETED
//   fail RESOURCE STATUS         as --fail; STATUS 0 stops failing
#include <fcntl.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
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
  std::vector<std::pair<std::string, int>> failing;
  std::string control_path;
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
    } else if (a.rfind("--fail=", 0) == 0 && a.find(':') != std::string::npos) {
      const auto colon = a.find(':');
      failing.emplace_back(a.substr(7, colon - 7), std::stoi(a.substr(colon + 1)));
    } else if (a.rfind("--control=", 0) == 0) {
      control_path = a.substr(10);
    } else if (a == "--help" || a == "-h" || a.rfind("--", 0) == 0) {
      std::cerr << "usage: fakekube [--kubeconfig=PATH] [--token=T] "
                   "[--split-versions=v1alpha2,...] [--fail=RESOURCE:STATUS]... "
                   "[--control=FIFO] FILE.json...\n";
      return a.rfind("--help", 0) == 0 || a == "-h" ? 0 : 2;
    } else {
      files.push_back(a);
    }
  }
  try {
    smi::fakekube::FakeKubeApi api(options);
    for (const auto& f : files) api.LoadFile(f);
    for (const auto& [resource, status] : failing) api.FailResource(resource, status);
    api.Start();
    if (!control_path.empty()) {
      ::unlink(control_path.c_str());
      if (::mkfifo(control_path.c_str(), 0600) != 0) {
        throw std::runtime_error("cannot make the control pipe " + control_path);
      }
      // Read and write, so that the pipe never reports end-of-file between writers.
      const int fd = ::open(control_path.c_str(), O_RDWR);
      if (fd < 0) throw std::runtime_error("cannot open the control pipe " + control_path);
      std::thread([&api, fd] {
        FILE* in = ::fdopen(fd, "r");
        char* line = nullptr;
        size_t cap = 0;
        while (::getline(&line, &cap, in) > 0) {
          std::istringstream words(line);
          std::string command;
          words >> command;
          try {
            if (command == "apply") {
              std::string rest;
              std::getline(words, rest);
              const auto object = nlohmann::json::parse(rest);
              const auto rv = api.Apply(object);
              std::cout << "fakekube: applied " << object.value("kind", "") << " "
                        << object["metadata"].value("name", "") << " at resourceVersion " << rv
                        << std::endl;
            } else if (command == "delete") {
              std::string kind, ns, name;
              words >> kind >> ns >> name;
              const bool deleted = api.Delete(kind, ns == "-" ? "" : ns, name);
              std::cout << "fakekube: delete " << kind << " " << ns << "/" << name << ": "
                        << (deleted ? "deleted" : "no such object") << std::endl;
            } else if (command == "fail") {
              std::string resource;
              int status = 0;
              words >> resource >> status;
              api.FailResource(resource, status);
              std::cout << "fakekube: " << resource << " now answered "
                        << (status ? std::to_string(status) : std::string("normally")) << std::endl;
            } else if (!command.empty()) {
              std::cerr << "fakekube: unknown control command " << command << std::endl;
            }
          } catch (const std::exception& e) {
            std::cerr << "fakekube: control command " << command << " failed: " << e.what()
                      << std::endl;
          }
        }
      }).detach();
    }
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
