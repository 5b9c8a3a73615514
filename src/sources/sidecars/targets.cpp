#include "sources/sidecars/targets.h"

#include <algorithm>
#include <charconv>

namespace smi::sources::sidecars {
namespace {

bool Meshed(const prometheus::SidecarTargets& how, const kube::Pod& pod) {
  if (!how.container.empty()) {
    return std::find(pod.containers.begin(), pod.containers.end(), how.container) !=
           pod.containers.end();
  }
  return pod.annotations.contains(how.annotation);
}

int Port(const prometheus::SidecarTargets& how, const kube::Pod& pod) {
  if (!how.port_name.empty()) {
    for (const auto& p : pod.named_ports) {
      if (p.name == how.port_name) return p.port;
    }
  }
  if (!how.port_annotation.empty()) {
    if (auto it = pod.annotations.find(how.port_annotation); it != pod.annotations.end()) {
      int value = 0;
      const std::string& text = it->second;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && value >= 1 && value <= 65535) {
        return value;
      }
    }
  }
  return how.port;
}

std::string Path(const prometheus::SidecarTargets& how, const kube::Pod& pod) {
  if (!how.path_annotation.empty()) {
    if (auto it = pod.annotations.find(how.path_annotation);
        it != pod.annotations.end() && !it->second.empty() && it->second.front() == '/') {
      return it->second;
    }
  }
  return how.path;
}

// The name a pod label gets in linkerd-viz's relabelling.
std::string LinkerdVizName(std::string_view label) {
  constexpr std::string_view kProxy = "linkerd.io/proxy-";
  constexpr std::string_view kLinkerd = "linkerd.io/";
  if (label.starts_with(kProxy)) {
    const std::string_view kind = label.substr(kProxy.size());
    return kind == "job" ? "k8s_job" : SanitizeLabelName(kind);
  }
  if (label.starts_with(kLinkerd)) return SanitizeLabelName(label.substr(kLinkerd.size()));
  return SanitizeLabelName(label);
}

std::string HostPort(const std::string& ip, int port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

std::string SanitizeLabelName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return out;
}

std::vector<Target> MeshedTargets(const prometheus::SidecarTargets& how, const std::string& job,
                                  const kube::ClusterSnapshot& snapshot) {
  std::vector<Target> out;
  for (const kube::Pod* pod : snapshot.Pods()) {
    if (pod->ip.empty() || (pod->phase != "Running" && pod->phase != "Pending")) continue;
    if (!Meshed(how, *pod)) continue;
    Target t;
    const int port = Port(how, *pod);
    t.scrape.id = pod->meta.ns + "/" + pod->meta.name;
    t.scrape.host = pod->ip;
    t.scrape.port = static_cast<uint16_t>(port);
    t.scrape.path = Path(how, *pod);
    // Later entries do not replace earlier ones (LabelSet keeps the first of a name), so the
    // labels Prometheus sets itself come first, as its relabelling gives them the last word.
    std::vector<std::pair<std::string, std::string>> labels = {
        {"job", job},
        {"instance", HostPort(pod->ip, port)},
        {"namespace", pod->meta.ns},
        {"pod", pod->meta.name},
    };
    for (const auto& [k, v] : pod->meta.labels) {
      const std::string name = how.relabel == prometheus::SidecarTargets::Relabel::kLinkerdViz
                                   ? LinkerdVizName(k)
                                   : SanitizeLabelName(k);
      labels.emplace_back(name, v);
    }
    t.labels = LabelSet(std::move(labels));
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(),
            [](const Target& a, const Target& b) { return a.scrape.id < b.scrape.id; });
  return out;
}

}  // namespace smi::sources::sidecars
