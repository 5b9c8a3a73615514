// A reference decoder of /api/v1/query answers that parses the whole answer into a document tree
// first and checks it there: the straightforward reading of the API, kept for tests and the fuzz
// target to compare the client's streaming decoder against (same samples and warnings, or the
// same error with the same message).
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/prometheus/api_decoding.h"
#include "sources/prometheus/prometheus_client.h"

namespace smi::testing {

inline sources::prometheus::QueryResult TreeDecodeQueryAnswer(
    const sources::prometheus::HttpAnswer& answer, std::string_view backend) {
  using json = nlohmann::json;
  using sources::prometheus::ErrorReason;
  using sources::prometheus::QueryError;
  auto fail = [&](ErrorReason reason, const std::string& what) {
    throw QueryError(reason, std::string(backend) + " " + what);
  };
  const bool ok_status = answer.status >= 200 && answer.status < 300;
  const std::string status_text = "HTTP " + std::to_string(answer.status);
  std::string type_lower = answer.content_type;
  for (char& c : type_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool json_type = type_lower.find("json") != std::string::npos;
  const size_t first = answer.body.find_first_not_of(" \t\r\n");
  const bool looks_json =
      first != std::string::npos && (answer.body[first] == '{' || answer.body[first] == '[');
  const char* where_hint =
      answer.status == 404                           ? "; check the URL and its path prefix"
      : answer.status == 401 || answer.status == 403 ? "; check the credentials it is given"
      : answer.status >= 500 ? "; a proxy in front of Prometheus may be failing"
      : ok_status            ? "; check that the URL points at a Prometheus API"
                             : "";
  const ErrorReason http_reason = answer.status >= 500   ? ErrorReason::kHttp5xx
                                  : answer.status >= 400 ? ErrorReason::kHttp4xx
                                                         : ErrorReason::kMalformed;
  if (!json_type && !looks_json) {
    fail(http_reason,
         "answered " + status_text + " with a non-JSON body (" +
             (answer.content_type.empty() ? std::string("no content type") : answer.content_type) +
             ")" + where_hint);
  }
  json doc;
  try {
    doc = json::parse(answer.body);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (const size_t bracket = what.find("] ");
        what.starts_with("[json.") && bracket != what.npos) {
      what = what.substr(bracket + 2);
    }
    fail(http_reason, (ok_status ? "answered malformed JSON: "
                                 : "answered " + status_text + " with malformed JSON: ") +
                          what);
  }
  if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_string()) {
    fail(http_reason, "answered " + status_text +
                          " with JSON that is not a Prometheus API response" + where_hint);
  }
  sources::prometheus::QueryResult out;
  for (const char* key : {"warnings", "infos"}) {
    if (auto it = doc.find(key); it != doc.end() && it->is_array()) {
      for (const auto& w : *it) {
        if (w.is_string()) out.warnings.push_back(w.get<std::string>());
      }
    }
  }
  const std::string status = doc["status"].get<std::string>();
  if (status != "success") {
    const std::string type = doc.contains("errorType") && doc["errorType"].is_string()
                                 ? doc["errorType"].get<std::string>()
                                 : "unknown";
    const std::string error = doc.contains("error") && doc["error"].is_string()
                                  ? doc["error"].get<std::string>()
                                  : "no error message";
    const bool rejected = type == "bad_data" || type == "not_acceptable" || type == "not_found";
    std::string what =
        (rejected ? "rejected the query (" : "failed to answer (") + type + "): " + error;
    const char* hint =
        type == "bad_data" ? "this server built a query Prometheus does not accept; report it"
        : type == "timeout" || type == "canceled"
            ? "try a shorter window or raise Prometheus' query timeout"
        : type == "execution" ? "the query may have hit a limit; try a narrower request"
        : type == "unavailable" || type == "internal" ? "retry shortly"
                                                      : nullptr;
    if (hint) what += std::string("; ") + hint;
    const ErrorReason reason = type == "timeout" || type == "canceled" ? ErrorReason::kTimeout
                               : ok_status                             ? ErrorReason::kApiError
                                                                       : http_reason;
    fail(reason, what);
  }
  if (!doc.contains("data")) {
    fail(ErrorReason::kMalformed, "answered malformed JSON: a success without \"data\"");
  }
  json data = std::move(doc["data"]);
  auto malformed = [&](const std::string& what) {
    fail(ErrorReason::kMalformed, "answered malformed JSON: " + what);
  };
  if (!data.is_object() || !data.contains("resultType") || !data["resultType"].is_string()) {
    malformed("query data without a resultType");
  }
  const std::string type = data["resultType"].get<std::string>();
  if (type != "vector") {
    fail(ErrorReason::kMalformed,
         "answered a " + type +
             " result where an instant vector was expected; is it a Prometheus-compatible API?");
  }
  const auto& result = data["result"];
  if (!result.is_array()) malformed("\"result\" is not an array");
  bool skipped_histograms = false;
  for (const auto& item : result) {
    if (!item.is_object()) malformed("a vector element is not an object");
    auto value_it = item.find("value");
    if (value_it == item.end()) {
      if (item.contains("histogram")) {
        skipped_histograms = true;
        continue;
      }
      malformed("a vector element without \"value\"");
    }
    if (!value_it->is_array() || value_it->size() != 2 || !(*value_it)[1].is_string()) {
      malformed("a sample value is not [time, \"value\"]");
    }
    const std::string& text = (*value_it)[1].get_ref<const std::string&>();
    sources::prometheus::VectorSample sample;
    if (!sources::prometheus::ParseSampleValue(text, &sample.value)) {
      malformed("sample value \"" + text + "\"");
    }
    if (std::isnan(sample.value)) continue;
    if (auto metric = item.find("metric"); metric != item.end()) {
      if (!metric->is_object()) malformed("\"metric\" is not an object");
      for (const auto& [k, v] : metric->items()) {
        if (!v.is_string()) malformed("label \"" + k + "\" is not a string");
        sample.labels.emplace(k, v.get<std::string>());
      }
    }
    out.samples.push_back(std::move(sample));
  }
  if (skipped_histograms) {
    out.warnings.push_back("native histogram samples in the answer were ignored");
  }
  return out;
}

}  // namespace smi::testing
