#include "sources/prometheus/api_decoding.h"

#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "model/duration.h"
#include "sources/prometheus/json_scanner.h"

namespace smi::sources::prometheus {
namespace {

using json = nlohmann::json;

[[noreturn]] void Fail(std::string_view backend, ErrorReason reason, const std::string& what) {
  throw QueryError(reason, std::string(backend) + " " + what);
}

const char* HintForErrorType(const std::string& type) {
  if (type == "bad_data") return "this server built a query Prometheus does not accept; report it";
  if (type == "timeout" || type == "canceled") {
    return "try a shorter window or raise Prometheus' query timeout";
  }
  if (type == "execution") return "the query may have hit a limit; try a narrower request";
  if (type == "unavailable" || type == "internal") return "retry shortly";
  return nullptr;
}

// What the checks of an API envelope look at, whether read from a document tree or as it
// streamed past.
struct EnvelopeFacts {
  bool is_object = false;
  std::optional<std::string> status;  // set when "status" is a string
  std::optional<std::string> error_type, error;
  bool has_data = false;
};

// How a failed answer is described: where to look, and the reason its HTTP status gives.
struct AnswerContext {
  bool ok_status = false;
  std::string status_text;
  const char* where_hint = "";
  ErrorReason http_reason = ErrorReason::kMalformed;
};

// Refuses a body that is not JSON at all, before anything is parsed.
AnswerContext CheckIsJson(const HttpAnswer& answer, std::string_view backend) {
  AnswerContext c;
  c.ok_status = answer.status >= 200 && answer.status < 300;
  c.status_text = "HTTP " + std::to_string(answer.status);
  const bool json_type = base::Lower(answer.content_type).find("json") != std::string::npos;
  const size_t first = answer.body.find_first_not_of(" \t\r\n");
  const bool looks_json =
      first != std::string::npos && (answer.body[first] == '{' || answer.body[first] == '[');
  c.where_hint = answer.status == 404 ? "; check the URL and its path prefix"
                 : answer.status == 401 || answer.status == 403
                     ? "; check the credentials it is given"
                 : answer.status >= 500 ? "; a proxy in front of Prometheus may be failing"
                 : c.ok_status          ? "; check that the URL points at a Prometheus API"
                                        : "";
  c.http_reason = answer.status >= 500   ? ErrorReason::kHttp5xx
                  : answer.status >= 400 ? ErrorReason::kHttp4xx
                                         : ErrorReason::kMalformed;
  if (!json_type && !looks_json) {
    Fail(backend, c.http_reason,
         "answered " + c.status_text + " with a non-JSON body (" +
             (answer.content_type.empty() ? std::string("no content type") : answer.content_type) +
             ")" + c.where_hint);
  }
  return c;
}

[[noreturn]] void FailSyntax(const AnswerContext& c, std::string_view backend, std::string what) {
  if (const size_t bracket = what.find("] "); what.starts_with("[json.") && bracket != what.npos) {
    what = what.substr(bracket + 2);
  }
  Fail(backend, c.http_reason,
       (c.ok_status ? "answered malformed JSON: "
                    : "answered " + c.status_text + " with malformed JSON: ") +
           what);
}

// Throws unless the envelope is a success with `data`.
void CheckEnvelope(const AnswerContext& c, std::string_view backend, const EnvelopeFacts& f) {
  if (!f.is_object || !f.status) {
    Fail(backend, c.http_reason,
         "answered " + c.status_text + " with JSON that is not a Prometheus API response" +
             c.where_hint);
  }
  if (*f.status != "success") {
    const std::string type = f.error_type.value_or("unknown");
    const std::string error = f.error.value_or("no error message");
    const bool rejected = type == "bad_data" || type == "not_acceptable" || type == "not_found";
    std::string what =
        (rejected ? "rejected the query (" : "failed to answer (") + type + "): " + error;
    if (const char* hint = HintForErrorType(type)) what += std::string("; ") + hint;
    const ErrorReason reason = type == "timeout" || type == "canceled" ? ErrorReason::kTimeout
                               : c.ok_status                           ? ErrorReason::kApiError
                                                                       : c.http_reason;
    Fail(backend, reason, what);
  }
  if (!f.has_data) {
    Fail(backend, ErrorReason::kMalformed, "answered malformed JSON: a success without \"data\"");
  }
}

// The API envelope's `data` as a document tree, for the small answers (runtimeinfo).
json Envelope(const HttpAnswer& answer, std::string_view backend) {
  const AnswerContext c = CheckIsJson(answer, backend);
  json doc;
  try {
    doc = json::parse(answer.body);
  } catch (const json::exception& e) {
    FailSyntax(c, backend, e.what());
  }
  EnvelopeFacts f;
  f.is_object = doc.is_object();
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!f.is_object) return std::nullopt;
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  f.status = text("status");
  f.error_type = text("errorType");
  f.error = text("error");
  f.has_data = f.is_object && doc.contains("data");
  CheckEnvelope(c, backend, f);
  return std::move(doc["data"]);
}

// Reads an /api/v1/query answer as it is parsed (the events of nlohmann's SAX interface, which
// ScanJson gives as well), straight into samples: no document tree of the whole answer is built,
// only one element's labels at a time. The checks are those a tree would allow, with the same
// precedence: a syntax error anywhere first, then the envelope, then `data`, then the first bad
// vector element. JSON objects may hold their keys in any order and repeat them (the last one
// counts), so whatever depends on a key that may come later is decided at the end.
class QueryAnswerReader final : public nlohmann::json_sax<json> {
 public:
  EnvelopeFacts envelope;
  std::vector<std::string> warnings, infos;
  bool data_is_object = false;
  std::optional<std::string> result_type;
  bool result_is_array = false;
  std::vector<VectorSample> samples;
  std::optional<std::string> first_bad_element;  // what is wrong with it
  bool skipped_histograms = false;
  std::optional<std::string> syntax_error;

  bool null() override { return Scalar(nullptr); }
  bool boolean(bool) override { return Scalar(nullptr); }
  bool number_integer(number_integer_t) override { return Scalar(nullptr); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(nullptr); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(nullptr); }
  bool string(string_t& val) override { return Scalar(&val); }
  bool binary(binary_t&) override { return Scalar(nullptr); }

  bool start_object(std::size_t) override {
    Push(Open(true));
    return true;
  }
  bool start_array(std::size_t) override {
    Push(Open(false));
    return true;
  }
  bool end_object() override {
    if (frames_.back() == Frame::kElement) EndElement();
    frames_.pop_back();
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return true;
  }
  bool key(string_t& val) override {
    key_ = std::move(val);
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    syntax_error = ex.what();
    return false;
  }

 private:
  enum class Frame { kSkip, kTop, kWarnings, kInfos, kData, kResult, kElement, kMetric, kValue };

  // One vector element while it is read.
  struct Element {
    bool has_value = false, value_is_array = false, second_is_string = false;
    size_t value_items = 0;
    std::string value_text;
    bool has_histogram = false;
    bool has_metric = false, metric_is_object = false;
    std::map<std::string, std::string> labels;
    std::set<std::string> bad_labels;  // labels whose (last) value is not a string
  };

  void Push(Frame f) { frames_.push_back(f); }

  void BadElement(std::string what) {
    if (!first_bad_element) first_bad_element = std::move(what);
  }

  // Where a value that is about to start goes; `object`: whether it is an object (else an
  // array). Returns the frame the container opens.
  Frame Open(bool object) {
    if (frames_.empty()) {
      envelope.is_object = object;
      return object ? Frame::kTop : Frame::kSkip;
    }
    switch (frames_.back()) {
      case Frame::kSkip:
      case Frame::kWarnings:
      case Frame::kInfos:
        return Frame::kSkip;
      case Frame::kTop:
        TopValue(nullptr);
        if (key_ == "warnings" && !object) return Frame::kWarnings;
        if (key_ == "infos" && !object) return Frame::kInfos;
        if (key_ == "data" && object) {
          data_is_object = true;
          return Frame::kData;
        }
        return Frame::kSkip;
      case Frame::kData:
        DataValue(nullptr);
        if (key_ == "result" && !object) {
          result_is_array = true;
          return Frame::kResult;
        }
        return Frame::kSkip;
      case Frame::kResult:
        if (!object) {
          BadElement("a vector element is not an object");
          return Frame::kSkip;
        }
        element_ = Element{};
        return Frame::kElement;
      case Frame::kElement:
        ElementValue(nullptr);
        if (key_ == "value" && !object) {
          element_.value_is_array = true;
          return Frame::kValue;
        }
        if (key_ == "metric" && object) {
          element_.metric_is_object = true;
          return Frame::kMetric;
        }
        return Frame::kSkip;
      case Frame::kMetric:
        MetricValue(nullptr);
        return Frame::kSkip;
      case Frame::kValue:
        element_.value_items++;
        return Frame::kSkip;
    }
    return Frame::kSkip;
  }

  // A scalar; `text` when it is a string.
  bool Scalar(string_t* text) {
    if (frames_.empty()) {
      envelope.is_object = false;
      return true;
    }
    switch (frames_.back()) {
      case Frame::kSkip:
        break;
      case Frame::kTop:
        TopValue(text);
        break;
      case Frame::kWarnings:
      case Frame::kInfos:
        if (text != nullptr) {
          (frames_.back() == Frame::kWarnings ? warnings : infos).push_back(std::move(*text));
        }
        break;
      case Frame::kData:
        DataValue(text);
        break;
      case Frame::kResult:
        BadElement("a vector element is not an object");
        break;
      case Frame::kElement:
        ElementValue(text);
        break;
      case Frame::kMetric:
        MetricValue(text);
        break;
      case Frame::kValue:
        if (element_.value_items++ == 1 && text != nullptr) {
          element_.second_is_string = true;
          element_.value_text = std::move(*text);
        }
        break;
    }
    return true;
  }

  // A value of the envelope's key `key_` begins (a repeated key replaces what came before).
  // `text`: a string scalar; nullptr for any other value.
  void TopValue(string_t* text) {
    auto set = [&](std::optional<std::string>& field) {
      field = text ? std::optional<std::string>(*text) : std::nullopt;
    };
    if (key_ == "status") {
      set(envelope.status);
    } else if (key_ == "errorType") {
      set(envelope.error_type);
    } else if (key_ == "error") {
      set(envelope.error);
    } else if (key_ == "warnings") {
      warnings.clear();
    } else if (key_ == "infos") {
      infos.clear();
    } else if (key_ == "data") {
      envelope.has_data = true;
      data_is_object = false;
      result_type.reset();
      ResetResult();
    }
  }

  void DataValue(string_t* text) {
    if (key_ == "resultType") {
      result_type = text ? std::optional<std::string>(*text) : std::nullopt;
    } else if (key_ == "result") {
      ResetResult();
    }
  }

  void ResetResult() {
    result_is_array = false;
    samples.clear();
    first_bad_element.reset();
    skipped_histograms = false;
  }

  void ElementValue(string_t* text) {
    if (key_ == "value") {
      element_.has_value = true;
      element_.value_is_array = false;
      element_.second_is_string = false;
      element_.value_items = 0;
      element_.value_text.clear();
    } else if (key_ == "histogram") {
      element_.has_histogram = true;
    } else if (key_ == "metric") {
      element_.has_metric = true;
      element_.metric_is_object = false;
      element_.labels.clear();
      element_.bad_labels.clear();
    }
    (void)text;
  }

  void MetricValue(string_t* text) {
    if (text != nullptr) {
      if (!element_.bad_labels.empty()) element_.bad_labels.erase(key_);
      // Prometheus writes labels sorted: the end is where each one goes.
      element_.labels.insert_or_assign(element_.labels.end(), std::move(key_), std::move(*text));
    } else {
      element_.labels.erase(key_);
      element_.bad_labels.insert(key_);
    }
  }

  // The checks of one element, in the order a reader of the tree makes them.
  void EndElement() {
    if (first_bad_element) return;  // the answer is refused anyway
    Element& e = element_;
    if (!e.has_value) {
      if (e.has_histogram) {
        skipped_histograms = true;
        return;
      }
      return BadElement("a vector element without \"value\"");
    }
    if (!e.value_is_array || e.value_items != 2 || !e.second_is_string) {
      return BadElement("a sample value is not [time, \"value\"]");
    }
    VectorSample sample;
    if (!ParseSampleValue(e.value_text, &sample.value)) {
      return BadElement("sample value \"" + e.value_text + "\"");
    }
    if (std::isnan(sample.value)) return;
    if (e.has_metric) {
      if (!e.metric_is_object) return BadElement("\"metric\" is not an object");
      if (!e.bad_labels.empty()) {
        return BadElement("label \"" + *e.bad_labels.begin() + "\" is not a string");
      }
      sample.labels = std::move(e.labels);
    }
    samples.push_back(std::move(sample));
  }

  std::vector<Frame> frames_;
  std::string key_;  // the last key read, in whichever object is open
  Element element_;
};

}  // namespace

namespace {

QueryResult DecodeQueryAnswer(const HttpAnswer& answer, std::string_view backend, bool own_parser) {
  const AnswerContext c = CheckIsJson(answer, backend);
  QueryAnswerReader reader;
  if (!own_parser || !ScanJson(answer.body, reader)) {
    // nlohmann's parser says what is wrong (or, should ours refuse what it accepts, reads it).
    reader = QueryAnswerReader();
    json::sax_parse(answer.body, &reader);
  }
  if (reader.syntax_error) FailSyntax(c, backend, *reader.syntax_error);
  CheckEnvelope(c, backend, reader.envelope);
  auto malformed = [&](const std::string& what) {
    Fail(backend, ErrorReason::kMalformed, "answered malformed JSON: " + what);
  };
  if (!reader.data_is_object || !reader.result_type) malformed("query data without a resultType");
  if (*reader.result_type != "vector") {
    Fail(backend, ErrorReason::kMalformed,
         "answered a " + *reader.result_type +
             " result where an instant vector was expected; is it a Prometheus-compatible API?");
  }
  if (!reader.result_is_array) malformed("\"result\" is not an array");
  if (reader.first_bad_element) malformed(*reader.first_bad_element);
  QueryResult out;
  out.samples = std::move(reader.samples);
  out.warnings = std::move(reader.warnings);
  out.warnings.insert(out.warnings.end(), std::make_move_iterator(reader.infos.begin()),
                      std::make_move_iterator(reader.infos.end()));
  if (reader.skipped_histograms) {
    out.warnings.push_back("native histogram samples in the answer were ignored");
  }
  return out;
}

}  // namespace

QueryResult DecodeQueryAnswer(const HttpAnswer& answer, std::string_view backend) {
  return DecodeQueryAnswer(answer, backend, /*own_parser=*/true);
}

QueryResult DecodeQueryAnswerWithLibraryParser(const HttpAnswer& answer, std::string_view backend) {
  return DecodeQueryAnswer(answer, backend, /*own_parser=*/false);
}

std::optional<std::chrono::milliseconds> DecodeRetentionAnswer(const HttpAnswer& answer,
                                                               std::string_view backend) {
  // Thanos, Mimir and others may not have it.
  if (answer.status == 404 || answer.status == 405 || answer.status == 501) return std::nullopt;
  const json data = Envelope(answer, backend);
  if (!data.is_object()) return std::nullopt;
  auto it = data.find("storageRetention");
  if (it == data.end() || !it->is_string()) return std::nullopt;
  return ParseRetention(it->get<std::string>());
}

bool ParseSampleValue(std::string_view text, double* value) {
  std::string_view t = text;
  // from_chars: locale-independent, but it rejects the '+' Go writes in "+Inf".
  const bool plus = !t.empty() && t.front() == '+';
  if (plus) t.remove_prefix(1);
  if (t.empty() || (plus && (t.front() == '+' || t.front() == '-'))) return false;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *value);
  return ec == std::errc() && p == t.data() + t.size();
}

std::optional<std::chrono::milliseconds> ParseRetention(std::string_view text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(" or ", start);
    std::string_view part = text.substr(start, end == std::string_view::npos ? end : end - start);
    std::string error;
    if (auto d = model::ParseDuration(base::TrimView(part), &error); d && d->count() > 0) return d;
    if (end == std::string_view::npos) break;
    start = end + 4;
  }
  return std::nullopt;
}

}  // namespace smi::sources::prometheus
