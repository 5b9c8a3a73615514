// Decoding the answers of the Prometheus HTTP API: the JSON envelope (status, data, warnings,
// error types), instant vectors and their sample values, and the storage retention.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "sources/prometheus/prometheus_client.h"

namespace smi::sources::prometheus {

// One HTTP answer as the client received it.
struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The instant vector of an /api/v1/query answer, with the API's warnings and infos. Throws
// QueryError saying what is wrong with the answer (and what to do), each message starting with
// `backend` ("Prometheus at http://prom:9090").
QueryResult DecodeQueryAnswer(const HttpAnswer& answer, std::string_view backend);

// The same decoding with nlohmann's JSON parser in place of ours (json_scanner.h): the reference
// DecodeQueryAnswer is held to in tests, and the baseline of its benchmark.
QueryResult DecodeQueryAnswerWithLibraryParser(const HttpAnswer& answer, std::string_view backend);

// storageRetention of an /api/v1/status/runtimeinfo answer; nullopt when the server does not say
// (no such endpoint, absent field, size-only retention). Throws QueryError as DecodeQueryAnswer.
std::optional<std::chrono::milliseconds> DecodeRetentionAnswer(const HttpAnswer& answer,
                                                               std::string_view backend);

// A sample value as the API writes it ("1", "1.5e-07", "+Inf", "NaN"), locale-independent;
// false unless the whole text is a number.
bool ParseSampleValue(std::string_view text, double* value);

// Parses a storageRetention string: the first duration part of "15d", "15d or 10GiB", "10GiB or
// 15d".
std::optional<std::chrono::milliseconds> ParseRetention(std::string_view text);

}  // namespace smi::sources::prometheus
