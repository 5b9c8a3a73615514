// The command line of `kubectl traffic`: its commands, and kubectl's own flags where they mean the
// same (--kubeconfig, --context, -n, -A, -l, -o), in kubectl's spellings (-n NS, -nNS,
// --namespace=NS, --namespace NS).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smi::plugin {

// A command line that cannot be run; the message says why, as kubectl would ("unknown flag: --x").
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Command { kHelp, kTop, kEdges, kTopology };

// The kinds of object the API has metrics for, as the plugin addresses them.
struct KindInfo {
  std::string_view plural;  // the API resource: "deployments"
  std::string_view kind;    // the Kubernetes kind: "Deployment"
  bool namespaced;
};

// "pods", "pod", "po", "deployments", "deploy", "sts", "ds", "ns", ... as kubectl accepts them
// (case-insensitive; "deployments.metrics.smi-spec.io" too). Throws UsageError for anything else.
KindInfo ResolveKind(std::string_view text);

// What --sort-by orders rows by: rps (busiest first), success (lowest success rate first),
// p50/p90/p99 (slowest first), name. Rows without requests come last.
enum class SortKey { kNone, kName, kRps, kSuccess, kP50, kP90, kP99 };

struct Invocation {
  Command command = Command::kHelp;
  std::optional<Command> help_for;  // `--help` after a command: that command's help
  std::vector<std::string> args;    // the command's arguments (kind, name)

  std::string kubeconfig;       // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
  std::string context;          // --context; empty: the kubeconfig's current-context
  std::string ns;               // -n/--namespace; empty: the context's namespace, else "default"
  bool all_namespaces = false;  // -A/--all-namespaces
  std::string selector;         // -l/--selector, a Kubernetes label selector
  std::string output;           // -o/--output
  std::optional<std::chrono::milliseconds> window;   // --window
  SortKey sort_by = SortKey::kNone;                  // --sort-by
  std::optional<std::chrono::milliseconds> watch;    // -w/--watch[=INTERVAL]
  std::chrono::milliseconds request_timeout{30000};  // --request-timeout
};

// The watch interval when --watch names none.
inline constexpr std::chrono::milliseconds kDefaultWatchInterval{2000};

// Parses the arguments after the program name. Throws UsageError.
Invocation ParseInvocation(const std::vector<std::string>& args);

// The help text of the plugin, or of one command.
std::string HelpText(std::optional<Command> command = std::nullopt);

}  // namespace smi::plugin
