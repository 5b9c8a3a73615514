// A minimal HTTP(S) client for kube-apiserver GETs, watch streams and review POSTs, authenticated
// as a RestConfig says. One request at a time per client; Cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kube/credentials.h"

namespace smi::kube {

// The request did not produce an HTTP answer: refused, reset, timed out, TLS failed, cancelled.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

class RestClient {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{60000};  // whole-answer reads (lists, discovery)
  };

  // Throws ConfigError for an unusable configuration (bad URL, unreadable PEM).
  RestClient(RestConfig config, Options options);
  explicit RestClient(RestConfig config) : RestClient(std::move(config), Options{}) {}
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // GET `path_and_query` (e.g. "/api/v1/pods?limit=500"). Throws TransportError.
  HttpResponse Get(const std::string& path_and_query);

  // POST `body` (JSON) to `path`, e.g. a TokenReview. Throws TransportError.
  HttpResponse Post(const std::string& path, const std::string& body);

  // GET whose body is handed to `on_data` as it arrives (whatever the status); returns the
  // status. `on_data` returning false ends the request (not an error). `idle_timeout` is how long
  // the stream may stay silent before it counts as dropped. Throws TransportError.
  int Stream(const std::string& path_and_query, std::chrono::milliseconds idle_timeout,
             const std::function<bool(int status, std::string_view data)>& on_data);

  // Aborts the request in flight, and every later one until Resume().
  void Cancel();
  void Resume();
  bool cancelled() const { return cancelled_; }

  const RestConfig& config() const { return config_; }

 private:
  struct Impl;
  RestConfig config_;
  Options options_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> cancelled_{false};
};

// A kube-apiserver error answer (a metav1.Status, or whatever the body was), for messages:
// "410 Gone: too old resource version: 5 (10)".
std::string DescribeHttpError(const HttpResponse& response);

}  // namespace smi::kube
