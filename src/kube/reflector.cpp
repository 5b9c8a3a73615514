#include "kube/reflector.h"

#include <random>

#include <nlohmann/json.hpp>

#include "base/url.h"
#include "kube/objects.h"

namespace smi::kube {

using nlohmann::json;

namespace {

double Random01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string ResourceVersionOf(const json& object) {
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return "";
  return md->value("resourceVersion", "");
}

}  // namespace

Reflector::Reflector(std::string name, RestConfig config, std::string collection_path,
                     ReflectorSink& sink, ReflectorOptions options)
    : name_(std::move(name)),
      path_(std::move(collection_path)),
      sink_(sink),
      options_(options),
      client_(std::move(config), options.http) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  stopping_ = false;
  running_ = true;
  client_.Resume();
  thread_ = std::thread([this] { Run(); });
}

void Reflector::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  // Cancel until the thread is out: a request that was about to start when the first Cancel()
  // came may have missed it.
  std::unique_lock lock(mu_);
  while (running_) {
    lock.unlock();
    client_.Cancel();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return !running_; });
  }
  lock.unlock();
  if (thread_.joinable()) thread_.join();
}

bool Reflector::HasSynced() const {
  std::lock_guard lock(mu_);
  return stats_.synced;
}

ReflectorStats Reflector::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Reflector::RecordError(const std::string& e) {
  std::lock_guard lock(mu_);
  ++stats_.errors;
  stats_.last_error = e;
}

void Reflector::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
}

std::chrono::milliseconds Reflector::NextBackoff() {
  // Exponential from initial_backoff, capped at max_backoff; jittered over the upper half of the
  // step so that many clients restarted together spread out, and never beyond the cap.
  const double base = static_cast<double>(options_.initial_backoff.count());
  double d = base;
  for (int i = 0; i < backoff_step_ && d < options_.max_backoff.count(); ++i) d *= 2;
  d = std::min(d, static_cast<double>(options_.max_backoff.count()));
  ++backoff_step_;
  return std::chrono::milliseconds(static_cast<int64_t>(d / 2 + Random01() * d / 2));
}

void Reflector::Run() {
  bool need_list = true;
  bool paged = options_.page_size > 0;
  bool after_gone = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (need_list) {
      try {
        if (!List(paged)) {
          paged = false;  // the continue token expired: one unpaged list, as client-go does
          continue;
        }
        paged = options_.page_size > 0;
        need_list = false;
        backoff_step_ = 0;
        std::lock_guard lock(mu_);
        if (after_gone) ++stats_.relists_after_gone;
        after_gone = false;
      } catch (const std::exception& e) {
        if (client_.cancelled()) break;
        RecordError(name_ + ": list: " + e.what());
        Sleep(NextBackoff());
        continue;
      }
    }
    std::string error;
    bool progressed = false;
    const WatchEnd end = Watch(&error, &progressed);
    if (!error.empty()) RecordError(name_ + ": watch: " + error);
    switch (end) {
      case WatchEnd::kStopped:
        break;
      case WatchEnd::kEnded:
        backoff_step_ = 0;  // the server ended it (timeoutSeconds): watch again at once
        break;
      case WatchEnd::kGone:
        need_list = true;  // the resourceVersion is compacted away: re-list now
        after_gone = true;
        break;
      case WatchEnd::kDropped:
        if (progressed) {
          backoff_step_ = 0;
        } else {
          Sleep(NextBackoff());
        }
        break;
      case WatchEnd::kFailed:
        // Refused, unauthorized, a server error: wait, then start over from a list.
        need_list = true;
        Sleep(NextBackoff());
        break;
    }
  }
  std::lock_guard lock(mu_);
  running_ = false;
  cv_.notify_all();
}

bool Reflector::List(bool paged) {
  std::unique_ptr<ReflectorSink::Batch> batch = sink_.NewBatch();
  std::string cont;
  std::string rv;
  uint64_t pages = 0;
  do {
    std::string q = path_;
    if (paged) {
      q += "?limit=" + std::to_string(options_.page_size);
      if (!cont.empty()) q += "&continue=" + base::PercentEncode(cont);
    }
    const HttpResponse r = client_.Get(q);
    if (r.status == 410 && !cont.empty()) return false;
    if (r.status != 200) throw std::runtime_error(DescribeHttpError(r));
    const json list = ParseTrimmed(r.body, 3);
    const json& items = list.at("items");
    if (!items.is_array() && !items.is_null()) throw std::runtime_error("list without items");
    if (items.is_array()) {
      for (const auto& item : items) batch->Add(item);
    }
    const json& md = list.at("metadata");
    rv = md.value("resourceVersion", "");
    cont = md.value("continue", "");
    ++pages;
    std::lock_guard lock(mu_);
    if (stopping_) throw std::runtime_error("stopped");
  } while (paged && !cont.empty());
  if (rv.empty()) throw std::runtime_error("list without metadata.resourceVersion");
  sink_.Replace(std::move(batch));
  std::lock_guard lock(mu_);
  stats_.synced = true;
  stats_.resource_version = rv;
  ++stats_.lists;
  stats_.list_pages += pages;
  return true;
}

Reflector::WatchEnd Reflector::Watch(std::string* error, bool* progressed) {
  std::string rv;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return WatchEnd::kStopped;
    rv = stats_.resource_version;
    ++stats_.watches;
  }
  const int64_t min_s = std::max<int64_t>(1, options_.min_watch_timeout.count());
  const int64_t timeout_s = min_s + static_cast<int64_t>(Random01() * static_cast<double>(min_s));
  const std::string q = path_ + "?watch=1&resourceVersion=" + base::PercentEncode(rv) +
                        "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_s);

  std::string buffer;
  std::string error_body;
  bool gone = false;
  bool failed = false;
  auto handle_line = [&](std::string_view line) -> bool {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return true;
    json event;
    try {
      event = ParseTrimmed(line, 2);
    } catch (const std::exception& e) {
      *error = std::string("undecodable watch event: ") + e.what();
      failed = true;
      return false;
    }
    const std::string type = event.value("type", "");
    const json& object = event.contains("object") ? event["object"] : json();
    if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
      if (type == "DELETED") {
        sink_.Remove(object);
      } else {
        sink_.Upsert(object);
      }
      *progressed = true;
      std::lock_guard lock(mu_);
      ++stats_.events;
      if (auto v = ResourceVersionOf(object); !v.empty()) stats_.resource_version = v;
      return true;
    }
    if (type == "BOOKMARK") {
      *progressed = true;
      std::lock_guard lock(mu_);
      ++stats_.bookmarks;
      if (auto v = ResourceVersionOf(object); !v.empty()) stats_.resource_version = v;
      return true;
    }
    if (type == "ERROR") {
      const int code = object.is_object() ? object.value("code", 0) : 0;
      *error = "ERROR event: " + (object.is_object() ? object.value("message", "") : "") + " (" +
               std::to_string(code) + ")";
      if (code == 410) {
        gone = true;
      } else {
        failed = true;
      }
      return false;
    }
    *error = "unknown watch event type " + type;
    failed = true;
    return false;
  };

  int status = 0;
  try {
    status =
        client_.Stream(q, std::chrono::seconds(timeout_s) + options_.watch_idle_slack,
                       [&](int st, std::string_view data) {
                         if (st != 200) {
                           if (error_body.size() < 4096) error_body.append(data);
                           return true;
                         }
                         buffer.append(data);
                         size_t start = 0;
                         while (true) {
                           const size_t nl = buffer.find('\n', start);
                           if (nl == std::string::npos) break;
                           if (!handle_line(std::string_view(buffer).substr(start, nl - start))) {
                             return false;
                           }
                           start = nl + 1;
                         }
                         buffer.erase(0, start);
                         return true;
                       });
  } catch (const TransportError& e) {
    if (client_.cancelled()) return WatchEnd::kStopped;
    *error = e.what();
    return WatchEnd::kDropped;
  }
  if (gone) return WatchEnd::kGone;
  if (failed) return WatchEnd::kFailed;
  if (status == 410) {
    *error = DescribeHttpError({status, error_body});
    return WatchEnd::kGone;
  }
  if (status != 200) {
    *error = DescribeHttpError({status, error_body});
    return WatchEnd::kFailed;
  }
  // A last event without its newline.
  if (!buffer.empty() && !handle_line(buffer)) {
    if (gone) return WatchEnd::kGone;
    return WatchEnd::kFailed;
  }
  return WatchEnd::kEnded;
}

}  // namespace smi::kube
