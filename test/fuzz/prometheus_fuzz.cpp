// Prometheus answers: an /api/v1/query answer decoded as the client decodes it
// (DecodeQueryAnswer), sample values, and the retention of /api/v1/status/runtimeinfo, then
// turned into samples by the built-in mesh profiles for each shape of query. Whatever Prometheus
// (or something in its place) answers, the result is samples or a QueryError, never undefined
// behaviour or another exception; and the streaming decoder reads it exactly as a reader of the
// whole document tree does (same samples and warnings, or the same error message); and its JSON
// scanner accepts what nlohmann's parser accepts, with the same events.
#include <chrono>
#include <optional>
#include <vector>

#include "fuzz_input.h"
#include "sources/json_events.h"
#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/api_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/promql_builder.h"
#include "sources/tree_query_decoder.h"

namespace {

using namespace smi;
using namespace smi::sources;
using namespace smi::sources::prometheus;
using model::ResourceKind;

std::vector<SampleQuery> Queries() {
  std::vector<SampleQuery> out;
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  for (QueryShape shape : std::vector<QueryShape>{
           ResourceScope{ResourceKind::kDeployment, "emojivoto", ""},
           ObjectEdges{ResourceKind::kDeployment, "emojivoto", "web"},
           ResourceScope{ResourceKind::kPod, "emojivoto", "web-5f-abcde"},
           NamespacePodEdges{"emojivoto", ResourceKind::kDeployment},
           ResourceScope{ResourceKind::kNamespace, "", ""},
           ObjectEdges{ResourceKind::kNamespace, "", "emojivoto"}, AllWorkloads{"", ""},
           TrafficSplitBackends{{{"emojivoto", "web-svc", {"web-v1", "web-v2"}}}}}) {
    SampleQuery q;
    q.shape = std::move(shape);
    q.at = at;
    out.push_back(std::move(q));
  }
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
          BuildQueries(profile, query);
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

  // Our JSON scanner accepts exactly what nlohmann's parser accepts, with the same events.
  const testing::JsonParse scanned = testing::ParseWithScanner(text);
  const testing::JsonParse library = testing::ParseWithNlohmann(text);
  if (scanned.ok != library.ok) fuzz::Fail("the JSON scanner and nlohmann disagree", text);
  if (scanned.ok && scanned.events != library.events) {
    fuzz::Fail("the JSON scanner's events differ from nlohmann's", text);
  }

  HttpAnswer answer{200, "application/json", std::string(text)};
  try {
    DecodeRetentionAnswer(answer, "Prometheus at http://fuzz");
  } catch (const QueryError&) {
  }
  std::string tree_error;
  QueryResult tree;
  try {
    tree = testing::TreeDecodeQueryAnswer(answer, "Prometheus at http://fuzz");
  } catch (const QueryError& e) {
    tree_error = e.what();
  }
  QueryResult result;
  try {
    result = DecodeQueryAnswer(answer, "Prometheus at http://fuzz");
  } catch (const QueryError& e) {
    if (tree_error != e.what()) fuzz::Fail("streaming and tree decoding disagree", e.what());
    return 0;
  }
  if (!tree_error.empty())
    fuzz::Fail("streaming decoding accepted what the tree refuses", tree_error);
  if (tree.warnings != result.warnings || tree.samples.size() != result.samples.size()) {
    fuzz::Fail("streaming and tree decoding disagree", text);
  }
  for (size_t i = 0; i < tree.samples.size(); ++i) {
    if (tree.samples[i].labels != result.samples[i].labels ||
        tree.samples[i].value != result.samples[i].value) {
      fuzz::Fail("streaming and tree decoding disagree on a sample", text);
    }
  }
  for (const auto& [profile, query] : *pairs) {
    ToSamples(*profile, *query, result.samples, result.samples);
  }
  return 0;
}
