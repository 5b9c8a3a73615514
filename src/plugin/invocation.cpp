#include "plugin/invocation.h"

#include "base/strings.h"
#include "model/duration.h"

namespace smi::plugin {

namespace {

std::chrono::milliseconds ParsePositiveDuration(const std::string& flag, const std::string& text) {
  std::string error;
  const auto d = model::ParseDuration(text, &error);
  if (!d) throw UsageError("invalid argument \"" + text + "\" for \"" + flag + "\" flag: " + error);
  if (d->count() <= 0) {
    throw UsageError("invalid argument \"" + text + "\" for \"" + flag +
                     "\" flag: must be more than 0s");
  }
  return *d;
}

SortKey ParseSortKey(const std::string& text) {
  const std::string t = base::Lower(text);
  if (t == "rps") return SortKey::kRps;
  if (t == "success") return SortKey::kSuccess;
  if (t == "p99") return SortKey::kP99;
  if (t == "p90") return SortKey::kP90;
  if (t == "p50") return SortKey::kP50;
  if (t == "name") return SortKey::kName;
  throw UsageError("invalid argument \"" + text +
                   "\" for \"--sort-by\" flag: expected rps, success, p99, p90, p50 or name");
}

bool LooksLikeDuration(const std::string& text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  std::string ignored;
  return model::ParseDuration(text, &ignored).has_value();
}

Command ParseCommand(const std::string& word) {
  if (word == "top") return Command::kTop;
  if (word == "edges" || word == "edge") return Command::kEdges;
  if (word == "topology" || word == "topo") return Command::kTopology;
  if (word == "help") return Command::kHelp;
  throw UsageError("unknown command \"" + word + "\" for \"kubectl traffic\"");
}

}  // namespace

KindInfo ResolveKind(std::string_view text) {
  std::string t = base::Lower(text);
  // kubectl's fully qualified form names the group; only ours is meant.
  if (const auto dot = t.find('.'); dot != std::string::npos) {
    if (t.substr(dot + 1) != "metrics.smi-spec.io") {
      throw UsageError("the server doesn't have a resource type \"" + std::string(text) +
                       "\" in the SMI Traffic Metrics API");
    }
    t = t.substr(0, dot);
  }
  if (t == "pods" || t == "pod" || t == "po") return {"pods", "Pod", true};
  if (t == "deployments" || t == "deployment" || t == "deploy") {
    return {"deployments", "Deployment", true};
  }
  if (t == "statefulsets" || t == "statefulset" || t == "sts") {
    return {"statefulsets", "StatefulSet", true};
  }
  if (t == "daemonsets" || t == "daemonset" || t == "ds") return {"daemonsets", "DaemonSet", true};
  if (t == "namespaces" || t == "namespace" || t == "ns") return {"namespaces", "Namespace", false};
  throw UsageError("the server doesn't have a resource type \"" + std::string(text) +
                   "\" in the SMI Traffic Metrics API (try pods, deployments, statefulsets, "
                   "daemonsets or namespaces)");
}

Invocation ParseInvocation(const std::vector<std::string>& args) {
  Invocation inv;
  std::vector<std::string> positional;
  bool help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    // The flag's name and its value when written in one word (--name=value, -nvalue).
    std::string name, value;
    bool has_value = false;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      name = arg.substr(0, eq);
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        has_value = true;
      }
    } else {
      name = arg.substr(0, 2);
      if (arg.size() > 2) {
        value = arg.substr(arg[2] == '=' ? 3 : 2);
        has_value = true;
      }
    }
    // A flag that takes a value: the rest of the word, else the next argument.
    auto take = [&](const std::string& long_name) -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) throw UsageError("flag needs an argument: " + long_name);
      return args[++i];
    };
    if (name == "-h" || name == "--help") {
      help = true;
    } else if (name == "--kubeconfig") {
      inv.kubeconfig = take("--kubeconfig");
    } else if (name == "--context") {
      inv.context = take("--context");
    } else if (name == "-n" || name == "--namespace") {
      inv.ns = take("--namespace");
      if (inv.ns.empty()) throw UsageError("the namespace must not be empty");
    } else if (name == "-A" || name == "--all-namespaces") {
      if (has_value && value != "true" && value != "false") {
        throw UsageError("invalid argument \"" + value + "\" for \"--all-namespaces\" flag");
      }
      inv.all_namespaces = !has_value || value == "true";
    } else if (name == "-l" || name == "--selector") {
      inv.selector = take("--selector");
    } else if (name == "-o" || name == "--output") {
      inv.output = base::Lower(take("--output"));
    } else if (name == "--window" || name == "-t") {
      inv.window = ParsePositiveDuration("--window", take("--window"));
    } else if (name == "--sort-by") {
      inv.sort_by = ParseSortKey(take("--sort-by"));
    } else if (name == "-w" || name == "--watch") {
      // An optional value: --watch=5s, -w5s, or the next word when it reads as a duration.
      if (has_value) {
        inv.watch = ParsePositiveDuration("--watch", value);
      } else if (i + 1 < args.size() && LooksLikeDuration(args[i + 1])) {
        inv.watch = ParsePositiveDuration("--watch", args[++i]);
      } else {
        inv.watch = kDefaultWatchInterval;
      }
    } else if (name == "--request-timeout") {
      inv.request_timeout = ParsePositiveDuration("--request-timeout", take("--request-timeout"));
    } else {
      throw UsageError("unknown flag: " + name);
    }
  }
  if (positional.empty()) {
    inv.command = Command::kHelp;
    return inv;
  }
  inv.command = ParseCommand(positional[0]);
  inv.args.assign(positional.begin() + 1, positional.end());
  if (inv.command == Command::kHelp) {
    if (!inv.args.empty()) inv.help_for = ParseCommand(inv.args[0]);
    inv.args.clear();
    return inv;
  }
  if (help) {
    inv.help_for = inv.command;
    inv.command = Command::kHelp;
    inv.args.clear();
  }
  return inv;
}

std::string HelpText(std::optional<Command> command) {
  static const char* kFlags = R"(
Flags (kubectl's, where they mean the same):
      --kubeconfig PATH     the kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME        the kubeconfig context to use (default: its current-context)
  -n, --namespace NS        the namespace (default: the context's, else "default")
  -A, --all-namespaces      every namespace
  -l, --selector SELECTOR   only objects whose labels match (e.g. app=web, 'tier in (a,b)')
  -o, --output FORMAT       see each command
      --window DURATION     the window the metrics cover (e.g. 10s, 1m; default: the server's)
      --sort-by KEY         rps (busiest first), success (lowest first), p99, p90, p50
                            (slowest first) or name
  -w, --watch[=INTERVAL]    query again every INTERVAL (default 2s) and redraw, until Ctrl-C
      --request-timeout D   give up on a request after D (default 30s)
  -h, --help                this help
)";
  switch (command.value_or(Command::kHelp)) {
    case Command::kTop:
      return std::string(
                 R"(Success rate, requests per second and latency of pods, workloads or namespaces.

Usage:
  kubectl traffic top (pods|deployments|statefulsets|daemonsets|namespaces) [NAME] [flags]

Examples:
  kubectl traffic top pods -n emojivoto
  kubectl traffic top deployments -A --sort-by rps
  kubectl traffic top deploy web -n emojivoto --window 1m

Output (-o): wide (with the counts and the window), json, yaml (the API's TrafficMetricsList).
)") + kFlags;
    case Command::kEdges:
      return std::string(
                 R"(Who an object calls and who calls it: one row per edge, with its direction, the peer,
the side that measured it, success rate, requests per second and latency.

Usage:
  kubectl traffic edges KIND/NAME [flags]
  kubectl traffic edges KIND NAME [flags]

Examples:
  kubectl traffic edges deploy/web -n emojivoto
  kubectl traffic edges pod/web-5d7f9c8b4-abcde -n emojivoto -o wide
  kubectl traffic edges namespace/emojivoto

Output (-o): wide (with the counts and the window), json, yaml (the API's TrafficMetricsList).
)") + kFlags;
    case Command::kTopology:
      return std::string(
                 R"(The service graph of a kind, from the edges of every object of it: who calls whom,
each edge labelled with its requests per second and success rate, coloured by success rate
(green from 99%, yellow from 95%, red below). In the text form, a graph too wide for the terminal
is shown as a table of its edges.

Usage:
  kubectl traffic topology [deployments|pods|statefulsets|daemonsets|namespaces] [flags]

Examples:
  kubectl traffic topology -n emojivoto
  kubectl traffic topology pods -n emojivoto
  kubectl traffic topology -A -o svg > mesh.svg

Output (-o): text (the default: boxes and arrows), table (the edges as a table), dot (Graphviz),
svg (drawn by Graphviz's dot, which must be installed).
)") + kFlags;
    default:
      return std::string(
                 R"(kubectl traffic: the SMI Traffic Metrics API (metrics.smi-spec.io) from the command line.

Usage:
  kubectl traffic COMMAND [flags]

Commands:
  top       success rate, requests per second and latency of pods, workloads or namespaces
  edges     who an object calls and who calls it
  topology  the service graph of a kind, as text, Graphviz DOT or SVG

Run 'kubectl traffic COMMAND --help' for a command's examples and output formats.
The plugin reads only the API's public paths through your kubeconfig, so it works with any
server that implements the specification.
)") + kFlags;
  }
}

}  // namespace smi::plugin
