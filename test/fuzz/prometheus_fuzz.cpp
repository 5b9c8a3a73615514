// Prometheus answers: an instant-vector answer of /api/v1/query, its sample values, and the
// retention of /api/v1/status/runtimeinfo, turned into samples by the built-in mesh profiles for
// each shape of query. Whatever Prometheus (or something in its place) answers, the result is
// samples or a "malformed" error, never undefined behaviour.
//
// The answer envelope is decoded by PrometheusClient::Query inside its HTTP exchange; here that
// decoding is restated around the pure parts it calls (ParseSampleValue) so that the parts after
// it (MeshProfile::ToSamples) see what the client would hand them.
#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_client.h"

namespace {

using namespace smi;
using namespace smi::sources;
using namespace smi::sources::prometheus;
using model::ResourceKind;
using nlohmann::json;

// As PrometheusClient::Query: nullopt where it fails with "malformed".
std::optional<std::vector<VectorSample>> DecodeVector(const json& answer) {
  const json& data = answer.is_object() && answer.contains("data") ? answer["data"] : answer;
  if (!data.is_object() || !data.contains("result") || !data["result"].is_array()) {
    return std::nullopt;
  }
  std::vector<VectorSample> out;
  for (const auto& item : data["result"]) {
    if (!item.is_object()) return std::nullopt;
    const auto value = item.find("value");
    if (value == item.end()) continue;
    if (!value->is_array() || value->size() != 2 || !(*value)[1].is_string()) return std::nullopt;
    VectorSample sample;
    if (!ParseSampleValue((*value)[1].get_ref<const std::string&>(), &sample.value)) {
      return std::nullopt;
    }
    if (std::isnan(sample.value)) continue;
    if (const auto metric = item.find("metric"); metric != item.end()) {
      if (!metric->is_object()) return std::nullopt;
      for (const auto& [k, v] : metric->items()) {
        if (!v.is_string()) return std::nullopt;
        sample.labels.emplace(k, v.get<std::string>());
      }
    }
    out.push_back(std::move(sample));
  }
  return out;
}

std::vector<SampleQuery> Queries() {
  std::vector<SampleQuery> out;
  auto add = [&](ResourceKind kind, std::string ns, std::string name, bool edges) -> SampleQuery& {
    SampleQuery q;
    q.kind = kind;
    q.ns = std::move(ns);
    q.name = std::move(name);
    q.edges = edges;
    q.at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    out.push_back(q);
    return out.back();
  };
  add(ResourceKind::kDeployment, "emojivoto", "", false);
  add(ResourceKind::kDeployment, "emojivoto", "web", true);
  add(ResourceKind::kPod, "emojivoto", "web-5f-abcde", false);
  add(ResourceKind::kPod, "emojivoto", "", true).peer_kind = ResourceKind::kDeployment;
  add(ResourceKind::kNamespace, "", "", false);
  add(ResourceKind::kNamespace, "", "emojivoto", true);
  add(ResourceKind::kDeployment, "", "", false).all_workload_kinds = true;
  add(ResourceKind::kDeployment, "", "", false).traffic_splits = {
      {"emojivoto", "web-svc", {"web-v1", "web-v2"}}};
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* const profiles =
      new std::vector<MeshProfile>{LinkerdProfile(), IstioProfile()};
  static const auto* const queries = new std::vector<SampleQuery>(Queries());
  // The queries each profile answers for (BuildQueries accepts them): ToSamples only ever sees
  // answers to those.
  static const auto* const pairs = [] {
    auto* out = new std::vector<std::pair<const MeshProfile*, const SampleQuery*>>();
    for (const MeshProfile& profile : *profiles) {
      for (const SampleQuery& query : *queries) {
        try {
          profile.BuildQueries(query);
          out->emplace_back(&profile, &query);
        } catch (const std::invalid_argument&) {
        }
      }
    }
    return out;
  }();

  const std::string_view text = fuzz::Text(data, size);
  double value = 0;
  ParseSampleValue(text, &value);
  if (const auto retention = ParseRetention(text); retention && retention->count() <= 0) {
    fuzz::Fail("a retention that is not positive", text);
  }

  const json answer = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return 0;
  if (answer.is_object() && answer.contains("data") && answer["data"].is_object()) {
    if (const auto r = answer["data"].find("storageRetention");
        r != answer["data"].end() && r->is_string()) {
      ParseRetention(r->get_ref<const std::string&>());
    }
  }
  const auto samples = DecodeVector(answer);
  if (!samples) return 0;
  for (const auto& [profile, query] : *pairs) profile->ToSamples(*query, *samples, *samples);
  return 0;
}
