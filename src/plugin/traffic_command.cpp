#include "plugin/traffic_command.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "plugin/readings.h"
#include "plugin/tables.h"
#include "plugin/topology.h"
#include "plugin/yaml_output.h"

namespace smi::plugin {

namespace {

using nlohmann::json;

// What one query-and-print produced: the text for stdout, a note for stderr ("No resources
// found..."), and the evaluation time and window of the answer for the watch header.
struct Frame {
  std::string text;
  std::string note;
  std::string timestamp;
  std::string window;
};

std::string WindowOf(const std::vector<TrafficReading>& readings) {
  return readings.empty() ? "" : FormatWindow(readings.front().window);
}

std::string TimestampOf(const std::vector<TrafficReading>& readings) {
  return readings.empty() ? "" : readings.front().timestamp;
}

// kubectl's answer to "-o something-else".
[[noreturn]] void UnknownOutput(const std::string& output, const std::string& allowed) {
  throw UsageError("unable to match a printer suitable for the output format \"" + output +
                   "\", allowed formats are: " + allowed);
}

std::string InNamespace(const std::string& ns) {
  return ns.empty() ? "" : " in " + ns + " namespace";
}

// Reads an answer as the plugin expects it, or says the server answered something else.
template <typename Read>
auto ReadAnswer(const json& answer, const ApiRequest& request, Read read) {
  try {
    return read(answer);
  } catch (const MalformedAnswer& e) {
    throw KubectlError("error: the server's answer to GET " + request.Path() +
                       " is not what the SMI Traffic Metrics API specifies: " + e.what());
  }
}

class Runner {
 public:
  Runner(const Invocation& inv, CommandContext& ctx) : inv_(inv), ctx_(ctx) {}

  // Checks the arguments before anything is asked (a typo fails at once, also with --watch).
  void Validate() {
    switch (inv_.command) {
      case Command::kTop:
        ValidateTop();
        break;
      case Command::kEdges:
        ValidateEdges();
        break;
      case Command::kTopology:
        ValidateTopology();
        break;
      case Command::kHelp:
        break;
    }
  }

  Frame Run() {
    switch (inv_.command) {
      case Command::kTop:
        return Top();
      case Command::kEdges:
        return Edges();
      case Command::kTopology:
        return Topology();
      case Command::kHelp:
        break;
    }
    return {};
  }

 private:
  std::string Namespace() const { return inv_.ns.empty() ? ctx_.default_namespace : inv_.ns; }

  void WarnAboutWindow(const std::vector<TrafficReading>& readings) {
    if (!inv_.window || readings.empty() || warned_window_) return;
    if (readings.front().window != *inv_.window) {
      warned_window_ = true;
      *ctx_.err << "Warning: the server answered for a window of "
                << FormatWindow(readings.front().window) << ", not " << FormatWindow(*inv_.window)
                << " (it may not support ?window=)\n";
    }
  }

  // ---- top ------------------------------------------------------------------------------------

  void ValidateTop() {
    if (inv_.args.empty()) {
      throw UsageError(
          "you must name a kind: kubectl traffic top (pods|deployments|statefulsets|"
          "daemonsets|namespaces) [NAME]");
    }
    if (inv_.args.size() > 2) throw UsageError("too many arguments: top takes a kind and a name");
    kind_ = ResolveKind(inv_.args[0]);
    if (inv_.args.size() == 2) {
      name_ = inv_.args[1];
      if (inv_.all_namespaces && kind_.namespaced) {
        throw UsageError("a resource cannot be retrieved by name across all namespaces");
      }
      if (!inv_.selector.empty()) {
        throw UsageError("a label selector (-l) cannot be used with a name");
      }
    }
    if (inv_.output != "" && inv_.output != "wide" && inv_.output != "json" &&
        inv_.output != "yaml") {
      UnknownOutput(inv_.output, "json,wide,yaml");
    }
  }

  Frame Top() {
    ApiRequest request;
    request.resource = std::string(kind_.plural);
    request.ns = kind_.namespaced && !inv_.all_namespaces ? Namespace() : "";
    request.name = name_;
    request.window = inv_.window;
    request.label_selector = inv_.selector;
    const json answer = ctx_.reader->Get(request);
    std::vector<TrafficReading> readings;
    if (name_.empty()) {
      readings = ReadAnswer(answer, request, ReadTrafficMetricsList);
    } else {
      readings.push_back(ReadAnswer(answer, request, ReadTrafficMetrics));
    }
    WarnAboutWindow(readings);
    Frame frame{"", "", TimestampOf(readings), WindowOf(readings)};
    if (inv_.output == "json") {
      frame.text = answer.dump(4) + "\n";
    } else if (inv_.output == "yaml") {
      frame.text = ToYaml(answer);
    } else if (readings.empty()) {
      frame.note = "No resources found" + InNamespace(request.ns) + ".\n";
    } else {
      SortReadings(readings, inv_.sort_by, /*edges=*/false);
      TableOptions options;
      options.wide = inv_.output == "wide";
      options.namespace_column = kind_.namespaced && request.ns.empty();
      frame.text = TopTable(readings, options);
    }
    return frame;
  }

  // ---- edges ----------------------------------------------------------------------------------

  void ValidateEdges() {
    if (inv_.args.empty()) {
      throw UsageError("you must name an object: kubectl traffic edges KIND/NAME");
    }
    if (inv_.args.size() == 1) {
      const auto slash = inv_.args[0].find('/');
      if (slash == std::string::npos) {
        throw UsageError("you must name an object: kubectl traffic edges KIND/NAME");
      }
      kind_ = ResolveKind(inv_.args[0].substr(0, slash));
      name_ = inv_.args[0].substr(slash + 1);
    } else if (inv_.args.size() == 2) {
      kind_ = ResolveKind(inv_.args[0]);
      name_ = inv_.args[1];
    } else {
      throw UsageError("too many arguments: edges takes one object (KIND/NAME)");
    }
    if (name_.empty()) throw UsageError("you must name an object: kubectl traffic edges KIND/NAME");
    if (inv_.all_namespaces && kind_.namespaced) {
      throw UsageError("edges are those of one object: name its namespace with -n, not -A");
    }
    if (!inv_.selector.empty()) {
      throw UsageError("a label selector (-l) cannot be used with edges of one object");
    }
    if (inv_.output != "" && inv_.output != "wide" && inv_.output != "json" &&
        inv_.output != "yaml") {
      UnknownOutput(inv_.output, "json,wide,yaml");
    }
  }

  Frame Edges() {
    ApiRequest request;
    request.resource = std::string(kind_.plural);
    request.ns = kind_.namespaced ? Namespace() : "";
    request.name = name_;
    request.edges = true;
    request.window = inv_.window;
    const json answer = ctx_.reader->Get(request);
    std::vector<TrafficReading> readings = ReadAnswer(answer, request, ReadTrafficMetricsList);
    WarnAboutWindow(readings);
    Frame frame{"", "", TimestampOf(readings), WindowOf(readings)};
    if (inv_.output == "json") {
      frame.text = answer.dump(4) + "\n";
    } else if (inv_.output == "yaml") {
      frame.text = ToYaml(answer);
    } else if (readings.empty()) {
      frame.note = "No edges found for " + std::string(kind_.plural) + "/" + name_ +
                   InNamespace(request.ns) + ": no traffic to or from it in the window.\n";
    } else {
      SortReadings(readings, inv_.sort_by, /*edges=*/true);
      TableOptions options;
      options.wide = inv_.output == "wide";
      frame.text = EdgesTable(readings, options);
    }
    return frame;
  }

  // ---- topology -------------------------------------------------------------------------------

  void ValidateTopology() {
    if (inv_.args.size() > 1) throw UsageError("too many arguments: topology takes one kind");
    kind_ = ResolveKind(inv_.args.empty() ? "deployments" : inv_.args[0]);
    if (inv_.output != "" && inv_.output != "text" && inv_.output != "table" &&
        inv_.output != "wide" && inv_.output != "dot" && inv_.output != "svg") {
      UnknownOutput(inv_.output, "dot,svg,table,text");
    }
  }

  Frame Topology() {
    ApiRequest list;
    list.resource = std::string(kind_.plural);
    list.ns = kind_.namespaced && !inv_.all_namespaces ? Namespace() : "";
    list.window = inv_.window;
    list.label_selector = inv_.selector;
    const std::vector<TrafficReading> objects =
        ReadAnswer(ctx_.reader->Get(list), list, ReadTrafficMetricsList);
    WarnAboutWindow(objects);
    std::vector<std::vector<TrafficReading>> edges;
    for (const auto& o : objects) {
      ApiRequest request;
      request.resource = list.resource;
      request.ns = kind_.namespaced ? o.resource.ns : "";
      request.name = o.resource.name;
      request.edges = true;
      request.window = inv_.window;
      edges.push_back(ReadAnswer(ctx_.reader->Get(request), request, ReadTrafficMetricsList));
    }
    const ServiceGraph graph =
        BuildServiceGraph(objects, edges, {std::string(kind_.kind), list.ns});
    Frame frame{"", "", TimestampOf(objects), WindowOf(objects)};
    if (objects.empty()) {
      frame.note = "No resources found" + InNamespace(list.ns) + ".\n";
      if (inv_.output != "dot" && inv_.output != "svg") return frame;
    }
    if (inv_.output == "dot" || inv_.output == "svg") {
      std::string title =
          std::string(kind_.plural) +
          (kind_.namespaced ? (list.ns.empty() ? " in every namespace" : " in " + list.ns) : "");
      if (!frame.window.empty()) title += ", window " + frame.window;
      if (!frame.timestamp.empty()) title += ", at " + frame.timestamp;
      const std::string dot = TopologyDot(graph, title);
      if (inv_.output == "dot") {
        frame.text = dot;
      } else {
        try {
          frame.text = RenderSvg(dot);
        } catch (const std::runtime_error& e) {
          throw KubectlError(std::string("error: ") + e.what());
        }
      }
    } else if (inv_.output == "table" || inv_.output == "wide") {
      frame.text = graph.edges.empty() ? "" : TopologyTable(graph);
      if (graph.edges.empty()) frame.note = "No edges found: no traffic in the window.\n";
    } else {
      frame.text = TopologyText(graph, {ctx_.terminal.width, ctx_.terminal.color});
    }
    return frame;
  }

  const Invocation& inv_;
  CommandContext& ctx_;
  KindInfo kind_{};
  std::string name_;
  bool warned_window_ = false;
};

}  // namespace

int RunTrafficCommand(const Invocation& invocation, CommandContext& ctx) {
  Runner runner(invocation, ctx);
  try {
    runner.Validate();
  } catch (const UsageError& e) {
    *ctx.err << "error: " << e.what() << "\nSee 'kubectl traffic --help' for usage.\n";
    return 1;
  }
  if (!invocation.watch) {
    try {
      const Frame frame = runner.Run();
      *ctx.out << frame.text << std::flush;
      *ctx.err << frame.note << std::flush;
      return 0;
    } catch (const KubectlError& e) {
      *ctx.err << e.what() << "\n";
      return 1;
    }
  }
  // Watching: a header per frame with the answer's time, the screen cleared first on a terminal.
  const auto interval = *invocation.watch;
  for (bool first = true;; first = false) {
    std::string body, header_time;
    try {
      const Frame frame = runner.Run();
      body = frame.text + frame.note;
      if (!frame.timestamp.empty()) {
        header_time = "window " + frame.window + " at " + frame.timestamp;
      }
    } catch (const KubectlError& e) {
      if (first) {
        *ctx.err << e.what() << "\n";
        return 1;
      }
      body = std::string(e.what()) + "\n";
    }
    if (ctx.terminal.is_tty) *ctx.out << "\033[H\033[2J";
    *ctx.out << "Every " << FormatWindow(interval) << ": " << ctx.command_line;
    if (!header_time.empty()) *ctx.out << "    " << header_time;
    *ctx.out << "\n\n" << body;
    if (!ctx.terminal.is_tty) *ctx.out << "\n";
    *ctx.out << std::flush;
    if (!ctx.wait_interval || !ctx.wait_interval(interval)) return 0;
  }
}

}  // namespace smi::plugin
