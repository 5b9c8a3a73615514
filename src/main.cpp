// smi-metrics-server: parses the flags, builds the server (src/config/server.cpp) and serves until
// SIGINT or SIGTERM; docs/architecture.md says what lives where.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "base/process_memory.h"
#include "config/flags.h"
#include "config/server.h"

int main(int argc, char** argv) {
  // A few malloc arenas shared by all threads, and large blocks from mmap: memory stays flat
  // under heavy requests instead of growing an arena per worker thread (docs/prometheus-scale.md).
  smi::base::ConfigureAllocator(smi::base::DefaultMallocArenas());
  // Blocked here, before any thread starts, so that every thread inherits the mask and the
  // server's signal thread alone takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  smi::config::ServerFlags flags;
  try {
    flags = smi::config::ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "smi-metrics-server: " << e.what() << "\n";
    return 2;
  }
  if (flags.help) {
    std::cout << smi::config::FlagsUsage();
    return 0;
  }
  if (flags.version) {
    std::cout << "smi-metrics-server " << SMI_METRICS_SERVER_VERSION << "\n";
    return 0;
  }
  try {
    return smi::config::RunServer(flags);
  } catch (const std::exception& e) {
    std::cerr << "smi-metrics-server: " << e.what() << "\n";
    return 1;
  }
}
