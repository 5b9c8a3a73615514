// The whole API behind the socket: any request a client can send (method, path, query parameters,
// headers, authenticated or not) is answered, and never with a 500: a 500 is a bug, the client's
// mistakes are 4xx and an unavailable backend is 503 (docs/decisions.md).
//
// Input: byte 0 chooses the setup (bit 0: with Kubernetes knowledge; bit 1: unauthenticated;
// bit 2: the source is unavailable; bits 3-5: the method); then lines: the request-target (the
// path, with `?query` kept as the target the authorizer sees), then `k=v` query parameters and
// `H:name: value` headers.
#include <chrono>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/api_handler.h"
#include "base/strings.h"
#include "fuzz_input.h"
#include "kube/cluster_state.h"
#include "mocks/fake_source.h"

namespace {

using namespace smi;
using namespace std::chrono_literals;
using nlohmann::json;

json Meta(const std::string& ns, const std::string& name, json labels = json::object(),
          json owners = json::array()) {
  json m = {{"name", name}, {"uid", ns + "/" + name}, {"labels", labels}};
  if (!ns.empty()) m["namespace"] = ns;
  if (!owners.empty()) m["ownerReferences"] = owners;
  return m;
}

// A small cluster: a namespace, a deployment with its replicaset and pod, and a TrafficSplit.
json Objects() {
  const json owner_rs = {{{"kind", "ReplicaSet"},
                          {"name", "web-5f"},
                          {"uid", "emojivoto/web-5f"},
                          {"controller", true}}};
  const json owner_deploy = {
      {{"kind", "Deployment"}, {"name", "web"}, {"uid", "emojivoto/web"}, {"controller", true}}};
  const json selector = {{"matchLabels", {{"app", "web"}}}};
  return {{"kind", "List"},
          {"items",
           {{{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", Meta("", "emojivoto")},
             {"status", {{"phase", "Active"}}}},
            {{"apiVersion", "apps/v1"},
             {"kind", "Deployment"},
             {"metadata", Meta("emojivoto", "web", {{"app", "web"}})},
             {"spec", {{"selector", selector}}}},
            {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", Meta("emojivoto", "web-5f", {{"app", "web"}}, owner_deploy)},
             {"spec", {{"selector", selector}}}},
            {{"apiVersion", "v1"},
             {"kind", "Pod"},
             {"metadata", Meta("emojivoto", "web-5f-abcde", {{"app", "web"}}, owner_rs)},
             {"status", {{"podIP", "10.0.0.7"}, {"phase", "Running"}}}},
            {{"apiVersion", "split.smi-spec.io/v1alpha4"},
             {"kind", "TrafficSplit"},
             {"metadata", Meta("emojivoto", "web-split")},
             {"spec",
              {{"service", "web-svc"},
               {"backends",
                {{{"service", "web-v1"}, {"weight", 900}},
                 {{"service", "web-v2"}, {"weight", 100}}}}}}}}}};
}

struct Setup {
  Setup()
      : clock(std::chrono::system_clock::time_point(1700000000500ms)),
        service(source, clock, {}, &cluster),
        handler(service, {{"source", [this](std::string* why) { return source.Ready(why); }}}),
        bare_service(source, clock, {}),
        bare_handler(bare_service) {
    cluster.Load(Objects());
    handler.set_metrics_text([] { return std::string("smi_up 1\n"); });
    sources::TrafficCounts web;
    web.success = 90;
    web.failure = 10;
    web.latency_buckets = {
        {0.010, 50}, {0.020, 90}, {0.050, 100}, {std::numeric_limits<double>::infinity(), 100}};
    const sources::ObjectReference deploy{"Deployment", "emojivoto", "web", ""};
    const sources::ObjectReference pod{"Pod", "emojivoto", "web-5f-abcde", ""};
    auto& r = source.resource_samples;
    r.known_objects = {deploy, pod, {"Namespace", "", "emojivoto", ""}};
    r.resources = {{deploy, web}, {pod, web}};
    r.backends = {{"emojivoto", "web-svc", "web-v1", model::Side::kClient, web}};
    auto& e = source.edge_samples;
    e.known_objects = {deploy, pod};
    e.edges = {{deploy,
                model::Direction::kTo,
                model::Side::kClient,
                {"Deployment", "emojivoto", "emoji", ""},
                web},
               {pod,
                model::Direction::kFrom,
                model::Side::kServer,
                {"Pod", "emojivoto", "vote-bot-1", ""},
                {}}};
  }

  kube::StaticClusterState cluster;
  testing::FakeSource source;
  testing::FakeClock clock;
  aggregation::TrafficMetricsService service;
  apiserver::ApiHandler handler;
  aggregation::TrafficMetricsService bare_service;  // no Kubernetes knowledge
  apiserver::ApiHandler bare_handler;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup* const setup = new Setup();
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const auto lines = fuzz::Lines(fuzz::Text(data + 1, size - 1));

  apiserver::HttpRequest request;
  static const char* const kMethods[] = {"GET",    "HEAD",  "POST",    "PUT",
                                         "DELETE", "PATCH", "OPTIONS", "get"};
  request.method = kMethods[(flags >> 3) & 7];
  if (!lines.empty()) {
    const std::string_view target = lines[0];
    request.path = std::string(target.substr(0, target.find('?')));
    if (target.find('?') != std::string_view::npos) request.target = std::string(target);
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.substr(0, 2) == "H:") {
      const std::string_view header = line.substr(2);
      const size_t colon = header.find(':');
      const std::string_view value =
          colon == std::string_view::npos ? std::string_view() : header.substr(colon + 1);
      request.headers[base::Lower(header.substr(0, colon))] = base::Trim(value);
    } else {
      const size_t eq = line.find('=');
      request.params.emplace(std::string(line.substr(0, eq)),
                             eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1)));
    }
  }
  if (!(flags & 2))
    request.identity = apiserver::Identity{"alice", {"system:authenticated"}, "", {}};
  if (flags & 4) {
    setup->source.unavailable = "prometheus is down";
  } else {
    setup->source.unavailable.reset();
  }

  const apiserver::ApiHandler& handler = (flags & 1) ? setup->handler : setup->bare_handler;
  apiserver::HttpResponse response;
  try {
    response = handler.Handle(request);
  } catch (const std::exception& e) {
    fuzz::Fail("an exception escaped the handler (the server answers 500)", e.what());
  } catch (...) {
    fuzz::Fail("an exception escaped the handler (the server answers 500)");
  }
  setup->source.queries.clear();
  // SMI_FUZZ_VERBOSE=1: what each input got, to check that a corpus reaches the answers it means
  // to.
  static const bool verbose = std::getenv("SMI_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s %s -> %d\n", request.method.c_str(), request.path.c_str(),
                 response.status);
  }
  if (response.status == 500) fuzz::Fail("answered 500", response.body);
  if (response.status < 200 || response.status > 599) fuzz::Fail("not an HTTP status");
  return 0;
}
