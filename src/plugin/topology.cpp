#include "plugin/topology.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include "base/strings.h"
#include "plugin/box_drawing.h"
#include "plugin/tables.h"

namespace smi::plugin {

namespace {

// Lower is better: measured at the client, then the caller's own `to` edge.
int Preference(const TrafficReading& r) {
  const int side = r.side == "client" ? 0 : r.side == "server" ? 2 : 4;
  return side + (r.direction == "to" ? 0 : 1);
}

std::string DotQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

}  // namespace

std::string NodeLabel(const ObjectRef& ref, const GraphScope& scope) {
  std::string label;
  if (ref.kind == "Namespace") {
    label = ref.name;
  } else if (scope.ns.empty() || ref.ns != scope.ns) {
    label = ref.ns.empty() ? ref.name : ref.ns + "/" + ref.name;
  } else {
    label = ref.name;
  }
  if (!ref.kind.empty() && ref.kind != scope.kind) label = base::Lower(ref.kind) + "/" + label;
  return label.empty() ? "?" : label;
}

std::vector<std::string> NodeBoxLines(const ObjectRef& ref, const GraphScope& scope) {
  std::vector<std::string> lines = {ref.name.empty() ? "?" : ref.name};
  if (!ref.kind.empty() && ref.kind != scope.kind)
    lines[0] = base::Lower(ref.kind) + "/" + lines[0];
  if (ref.kind != "Namespace" && !ref.ns.empty() && (scope.ns.empty() || ref.ns != scope.ns)) {
    lines.push_back("(" + ref.ns + ")");
  }
  return lines;
}

std::vector<std::string> EdgeLabel(const TrafficReading& reading) {
  if (!(reading.requests() > 0)) return {"idle"};
  return {FormatRps(reading), FormatSuccessRate(reading)};
}

ServiceGraph BuildServiceGraph(const std::vector<TrafficReading>& objects,
                               const std::vector<std::vector<TrafficReading>>& edges,
                               const GraphScope& scope) {
  ServiceGraph graph;
  std::map<ObjectRef, size_t> index;
  auto node = [&](const ObjectRef& ref) {
    const auto [it, added] = index.emplace(ref, graph.nodes.size());
    if (added) graph.nodes.push_back({ref, NodeLabel(ref, scope), NodeBoxLines(ref, scope)});
    return it->second;
  };
  for (const auto& o : objects) node(o.resource);
  std::map<std::pair<size_t, size_t>, TrafficReading> chosen;
  for (size_t i = 0; i < edges.size() && i < objects.size(); ++i) {
    const size_t self = node(objects[i].resource);
    for (const auto& item : edges[i]) {
      if (!item.peer) continue;  // all traffic in a direction: not an edge of the graph
      const size_t peer = node(*item.peer);
      std::pair<size_t, size_t> key;
      if (item.direction == "to") {
        key = {self, peer};
      } else if (item.direction == "from") {
        key = {peer, self};
      } else {
        continue;
      }
      const auto it = chosen.find(key);
      if (it == chosen.end() || Preference(item) < Preference(it->second)) chosen[key] = item;
    }
  }
  for (const auto& [key, reading] : chosen) graph.edges.push_back({key.first, key.second, reading});
  std::sort(graph.edges.begin(), graph.edges.end(), [&](const auto& a, const auto& b) {
    return std::tie(graph.nodes[a.from].label, graph.nodes[a.to].label) <
           std::tie(graph.nodes[b.from].label, graph.nodes[b.to].label);
  });
  return graph;
}

std::string TopologyTable(const ServiceGraph& graph) {
  std::vector<std::vector<std::string>> rows = {
      {"FROM", "TO", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P90", "LATENCY_P99"}};
  for (const auto& e : graph.edges) {
    const auto& r = e.reading;
    rows.push_back({graph.nodes[e.from].label, graph.nodes[e.to].label, FormatSuccessRate(r),
                    FormatRps(r), FormatLatency(r.p50), FormatLatency(r.p90),
                    FormatLatency(r.p99)});
  }
  return RenderColumns(rows);
}

std::string TopologyText(const ServiceGraph& graph, const TextOptions& options) {
  std::vector<bool> connected(graph.nodes.size(), false);
  std::map<size_t, const TrafficReading*> self_traffic;
  for (const auto& e : graph.edges) {
    connected[e.from] = connected[e.to] = true;
    if (e.from == e.to) self_traffic[e.from] = &e.reading;
  }
  std::vector<std::string> idle;
  std::vector<DrawingNode> nodes;
  std::vector<size_t> drawn(graph.nodes.size(), 0);
  for (size_t v = 0; v < graph.nodes.size(); ++v) {
    if (!connected[v]) {
      idle.push_back(graph.nodes[v].label);
      continue;
    }
    DrawingNode n{graph.nodes[v].box};
    if (const auto it = self_traffic.find(v); it != self_traffic.end()) {
      n.lines.push_back("self: " + Join(EdgeLabel(*it->second), " "));
    }
    drawn[v] = nodes.size();
    nodes.push_back(std::move(n));
  }
  std::vector<DrawingEdge> edges;
  for (const auto& e : graph.edges) {
    if (e.from == e.to) continue;
    edges.push_back({drawn[e.from], drawn[e.to], EdgeLabel(e.reading), HealthOf(e.reading)});
  }
  std::string out;
  if (graph.edges.empty()) {
    out = "No edges found: no traffic between these objects in the window.\n";
  } else if (const auto drawing =
                 DrawBoxesAndArrows(nodes, edges, {options.max_width, options.color})) {
    out = *drawing;
  } else {
    out = "The graph does not fit in " + std::to_string(options.max_width) +
          " columns; its edges:\n" + TopologyTable(graph);
  }
  if (!idle.empty() && !graph.edges.empty())
    out += "\nWithout edges in the window: " + Join(idle, ", ") + "\n";
  return out;
}

const char* DotColor(Health health) {
  switch (health) {
    case Health::kGood:
      return "#2e7d32";
    case Health::kDegraded:
      return "#b7791f";
    case Health::kFailing:
      return "#c62828";
    case Health::kIdle:
      break;
  }
  return "#9e9e9e";
}

std::string TopologyDot(const ServiceGraph& graph, const std::string& title) {
  std::string out = "digraph traffic {\n";
  out += "  label=" + DotQuote(title) + ";\n";
  out += "  labelloc=b;\n  fontname=\"Helvetica\";\n  fontsize=10;\n  rankdir=LR;\n";
  out +=
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f6f8\", "
      "fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  std::vector<bool> connected(graph.nodes.size(), false);
  for (const auto& e : graph.edges) connected[e.from] = connected[e.to] = true;
  for (size_t v = 0; v < graph.nodes.size(); ++v) {
    const auto& n = graph.nodes[v];
    out += "  " + DotQuote(DescribePeer(n.ref)) + " [label=" + DotQuote(n.label);
    // Objects without traffic in the window: drawn, but faded.
    if (!connected[v]) {
      out += ", style=\"rounded,filled,dashed\", color=\"#9e9e9e\", fontcolor=\"#757575\"";
    }
    out += "];\n";
  }
  for (const auto& e : graph.edges) {
    const char* color = DotColor(HealthOf(e.reading));
    out += "  " + DotQuote(DescribePeer(graph.nodes[e.from].ref)) + " -> " +
           DotQuote(DescribePeer(graph.nodes[e.to].ref)) +
           " [label=" + DotQuote(Join(EdgeLabel(e.reading), "\n")) + ", color=\"" + color +
           "\", fontcolor=\"" + color + "\"];\n";
  }
  return out + "}\n";
}

std::string RenderSvg(const std::string& dot_source) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) {
    throw std::runtime_error(std::string("cannot run dot: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot run dot: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    execlp("dot", "dot", "-Tsvg", static_cast<char*>(nullptr));
    const char message[] = "\x01no dot";  // exec failed: the parent says so in its own words
    [[maybe_unused]] const ssize_t ignored = write(2, message, sizeof message - 1);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed the source and read both outputs at once, so that no pipe fills up and blocks dot.
  std::string svg, errors;
  size_t written = 0;
  int to_dot = in[1];
  if (dot_source.empty()) {
    close(to_dot);
    to_dot = -1;
  }
  int from_dot = out[0], dot_errors = err[0];
  // A dot that exits early must not end this process with SIGPIPE.
  const auto previous_sigpipe = signal(SIGPIPE, SIG_IGN);
  while (from_dot >= 0 || dot_errors >= 0) {
    pollfd fds[3];
    int count = 0;
    if (to_dot >= 0) fds[count++] = {to_dot, POLLOUT, 0};
    if (from_dot >= 0) fds[count++] = {from_dot, POLLIN, 0};
    if (dot_errors >= 0) fds[count++] = {dot_errors, POLLIN, 0};
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == to_dot) {
        const ssize_t n = write(to_dot, dot_source.data() + written, dot_source.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 || written == dot_source.size()) {
          close(to_dot);
          to_dot = -1;
        }
        continue;
      }
      char buf[8192];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (fds[i].fd == from_dot ? svg : errors).append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        (fds[i].fd == from_dot ? from_dot : dot_errors) = -1;
      }
    }
  }
  if (to_dot >= 0) close(to_dot);
  signal(SIGPIPE, previous_sigpipe);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && errors.rfind("\x01no dot", 0) == 0) {
    throw std::runtime_error(
        "-o svg needs Graphviz's dot on the PATH (Debian: apt-get install graphviz); -o dot "
        "prints the graph for drawing elsewhere");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("dot failed: " + base::Trim(errors));
  }
  if (svg.empty()) throw std::runtime_error("dot drew nothing: " + base::Trim(errors));
  return svg;
}

}  // namespace smi::plugin
