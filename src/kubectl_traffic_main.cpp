// kubectl-traffic: the SMI Traffic Metrics API from the command line. kubectl runs it as
// `kubectl traffic ...` when it is on the PATH. Parses the command line, finds the credentials,
// and hands over to smi_plugin; with --watch, Ctrl-C ends the watch cleanly.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "plugin/invocation.h"
#include "plugin/metrics_api.h"
#include "plugin/traffic_command.h"

namespace {

smi::plugin::Terminal DetectTerminal() {
  smi::plugin::Terminal t;
  t.is_tty = isatty(STDOUT_FILENO) == 1;
  if (t.is_tty) {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) t.width = ws.ws_col;
    const char* term = std::getenv("TERM");
    const char* no_color = std::getenv("NO_COLOR");
    t.color = (no_color == nullptr || *no_color == '\0') &&
              !(term != nullptr && std::string(term) == "dumb");
  }
  return t;
}

// Waits `interval` for SIGINT or SIGTERM (blocked, so they wait for this call instead of ending
// the process mid-frame); false when one came.
bool WaitForInterval(const sigset_t& stop_signals, std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + interval;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return true;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int sig = sigtimedwait(&stop_signals, nullptr, &timeout);
    if (sig > 0) return false;
    if (errno == EAGAIN) return true;
    // EINTR: another signal; wait for the rest of the interval.
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smi::plugin;
  const std::vector<std::string> args(argv + 1, argv + argc);
  Invocation invocation;
  try {
    invocation = ParseInvocation(args);
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << "\nSee 'kubectl traffic --help' for usage.\n";
    return 1;
  }
  if (invocation.command == Command::kHelp) {
    std::cout << HelpText(invocation.help_for);
    return 0;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (invocation.watch) sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    const Connection connection = ResolveConnection(invocation.kubeconfig, invocation.context);
    MetricsApi api(connection.rest, invocation.request_timeout);
    CommandContext context;
    context.reader = &api;
    if (!connection.context_namespace.empty()) {
      context.default_namespace = connection.context_namespace;
    }
    context.out = &std::cout;
    context.err = &std::cerr;
    context.terminal = DetectTerminal();
    context.command_line = "kubectl traffic";
    for (const auto& a : args) context.command_line += " " + a;
    context.wait_interval = [&](std::chrono::milliseconds interval) {
      return WaitForInterval(stop_signals, interval);
    };
    return RunTrafficCommand(invocation, context);
  } catch (const KubectlError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
