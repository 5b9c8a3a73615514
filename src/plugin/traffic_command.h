// Runs one `kubectl traffic` command (top, edges, topology) against a TrafficMetricsReader, once
// or, with --watch, again and again until told to stop.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>

#include "plugin/invocation.h"
#include "plugin/metrics_api.h"

namespace smi::plugin {

struct Terminal {
  bool is_tty = false;  // redraw in place when watching
  size_t width = 80;    // the text topology must fit in it
  bool color = false;   // ANSI colours by success rate
};

struct CommandContext {
  TrafficMetricsReader* reader = nullptr;
  std::string default_namespace = "default";  // the kubeconfig context's, else "default"
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  Terminal terminal;
  std::string command_line;  // "kubectl traffic top pods -n x", for the watch header
  // Waits one watch interval; false when the user asked to stop (Ctrl-C) meanwhile.
  std::function<bool(std::chrono::milliseconds)> wait_interval;
};

// Runs `invocation` (not kHelp); returns the exit code: 0, or 1 after printing the error on
// `err` as kubectl would. A watch ends with 0 when `wait_interval` says stop; its first answer
// must succeed, later failures are shown in the frame and the watch goes on.
int RunTrafficCommand(const Invocation& invocation, CommandContext& context);

}  // namespace smi::plugin
