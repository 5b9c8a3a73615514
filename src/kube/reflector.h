// client-go's reflector for one resource: list (paged, at a resourceVersion), then watch from it;
// ADDED/MODIFIED/DELETED applied to a sink, BOOKMARK advancing the resourceVersion, a re-list on
// 410 Gone (HTTP status or ERROR event), re-watch with capped, jittered backoff on dropped
// connections. A list fills a fresh batch that replaces the sink's contents in one step, so a
// half-built list is never visible.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json_fwd.hpp>

#include "kube/credentials.h"
#include "kube/rest_client.h"

namespace smi::kube {

// Where a reflector puts what it learns. Implementations are thread-safe.
class ReflectorSink {
 public:
  class Batch {
   public:
    virtual ~Batch() = default;
    virtual void Add(const nlohmann::json& object) = 0;
  };
  virtual ~ReflectorSink() = default;
  virtual std::unique_ptr<Batch> NewBatch() = 0;
  virtual void Replace(std::unique_ptr<Batch> batch) = 0;  // atomically
  virtual bool Upsert(const nlohmann::json& object) = 0;   // false: undecodable object, skipped
  virtual bool Remove(const nlohmann::json& object) = 0;
  virtual void Clear() = 0;
};

struct ReflectorOptions {
  int page_size = 500;  // limit= of each list request; 0 lists in one answer
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30000};
  // Each watch asks the server to end it after a random timeoutSeconds in [min, 2*min), as
  // client-go does, so that connections are rebalanced and a silently dead one is noticed.
  std::chrono::seconds min_watch_timeout{300};
  // How long past timeoutSeconds a silent stream is given before it counts as dropped.
  std::chrono::milliseconds watch_idle_slack{30000};
  RestClient::Options http;
};

struct ReflectorStats {
  bool synced = false;
  std::string resource_version;  // of the last list, event or bookmark
  uint64_t lists = 0;            // completed lists (each replaced the store)
  uint64_t list_pages = 0;
  uint64_t relists_after_gone = 0;  // lists caused by 410 Gone
  uint64_t watches = 0;             // watch requests made
  uint64_t events = 0;              // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  uint64_t errors = 0;
  std::string last_error;
};

class Reflector {
 public:
  // `collection_path` like "/api/v1/pods" (all namespaces). `name` is for messages.
  Reflector(std::string name, RestConfig config, std::string collection_path, ReflectorSink& sink,
            ReflectorOptions options);
  ~Reflector();  // stops
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void Start();
  void Stop();  // returns when the thread has ended

  // A list has completed and the sink holds it (stays true across later re-lists).
  bool HasSynced() const;
  ReflectorStats Stats() const;
  const std::string& name() const { return name_; }

 private:
  enum class WatchEnd { kEnded, kDropped, kGone, kFailed, kStopped };

  void Run();
  bool List(bool paged);  // false: the continue token expired (410): list again unpaged
  WatchEnd Watch(std::string* error, bool* progressed);
  void Sleep(std::chrono::milliseconds d);
  std::chrono::milliseconds NextBackoff();
  void RecordError(const std::string& e);

  const std::string name_;
  const std::string path_;
  ReflectorSink& sink_;
  const ReflectorOptions options_;
  RestClient client_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool running_ = false;
  ReflectorStats stats_;
  int backoff_step_ = 0;
  std::thread thread_;
};

}  // namespace smi::kube
