#include "kube/watched_cluster.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/store.h"

namespace smi::kube {

using nlohmann::json;

namespace {

constexpr const char* kSplitGroupPath = "/apis/split.smi-spec.io";
constexpr const char* kSplitVersionsNewestFirst[] = {"v1alpha4", "v1alpha3", "v1alpha2",
                                                     "v1alpha1"};

}  // namespace

struct WatchedClusterState::Impl {
  Impl(RestConfig c, Options o)
      : config(std::move(c)), options(o), discovery_client(config, options.reflector.http) {}

  RestConfig config;
  Options options;
  internal::StoreSet stores;
  std::vector<std::unique_ptr<Reflector>> core;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  bool split_resolved = false;
  std::string split_version;
  std::string split_error;
  std::unique_ptr<Reflector> splits;
  RestClient discovery_client;
  std::thread discovery;

  void DiscoveryLoop();
  void UseSplitVersion(const std::string& version);
};

void WatchedClusterState::Impl::UseSplitVersion(const std::string& version) {
  std::unique_ptr<Reflector> old;
  {
    std::lock_guard lock(mu);
    split_resolved = true;
    split_error.clear();
    if (version == split_version && (version.empty() || splits)) return;
    old = std::move(splits);
  }
  if (old) old->Stop();
  if (version.empty()) {
    stores.splits.Clear();
  } else {
    const std::string api_version = "split.smi-spec.io/" + version;
    stores.splits.SetDecoder(
        [api_version](const json& o) { return DecodeTrafficSplit(o, api_version); });
  }
  std::lock_guard lock(mu);
  split_version = version;
  if (!version.empty() && !stopping) {
    splits = std::make_unique<Reflector>("trafficsplits." + version, config,
                                         CollectionPath(Resource::kTrafficSplits, version),
                                         stores.splits, options.reflector);
    splits->Start();
  }
}

void WatchedClusterState::Impl::DiscoveryLoop() {
  int failures = 0;
  while (true) {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
    }
    std::optional<std::string> chosen;
    std::string error;
    try {
      const HttpResponse r = discovery_client.Get(kSplitGroupPath);
      if (r.status == 404) {
        chosen = "";
      } else if (r.status == 200) {
        const json group = json::parse(r.body);
        std::vector<std::string> served;
        for (const auto& v : group.value("versions", json::array())) {
          served.push_back(v.value("version", ""));
        }
        chosen = "";
        for (const char* v : kSplitVersionsNewestFirst) {
          if (std::find(served.begin(), served.end(), v) != served.end()) {
            chosen = v;
            break;
          }
        }
      } else {
        error = DescribeHttpError(r);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::chrono::milliseconds wait = options.split_discovery_interval;
    if (chosen) {
      failures = 0;
      UseSplitVersion(*chosen);
    } else {
      std::lock_guard lock(mu);
      split_error = std::string("split.smi-spec.io discovery: ") + error;
      double d = static_cast<double>(options.reflector.initial_backoff.count());
      for (int i = 0; i < failures; ++i) d *= 2;
      wait = std::min(wait, std::chrono::milliseconds(static_cast<int64_t>(
                                std::min(d, double(options.reflector.max_backoff.count())))));
      ++failures;
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [this] { return stopping; });
  }
}

WatchedClusterState::WatchedClusterState(RestConfig config, Options options)
    : impl_(std::make_unique<Impl>(std::move(config), options)) {
  for (Resource r : kAllResources) {
    if (r == Resource::kTrafficSplits) continue;
    impl_->core.push_back(std::make_unique<Reflector>(std::string(ResourceName(r)), impl_->config,
                                                      CollectionPath(r), impl_->stores.Sink(r),
                                                      options.reflector));
  }
}

WatchedClusterState::~WatchedClusterState() { Stop(); }

void WatchedClusterState::Start() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->started) return;
    impl_->started = true;
    impl_->stopping = false;
  }
  for (auto& r : impl_->core) r->Start();
  impl_->discovery = std::thread([this] { impl_->DiscoveryLoop(); });
}

void WatchedClusterState::Stop() {
  std::unique_ptr<Reflector> splits;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->started) return;
    impl_->started = false;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->discovery_client.Cancel();
  if (impl_->discovery.joinable()) impl_->discovery.join();
  impl_->discovery_client.Resume();
  {
    std::lock_guard lock(impl_->mu);
    splits = std::move(impl_->splits);
  }
  if (splits) splits->Stop();
  for (auto& r : impl_->core) r->Stop();
}

bool WatchedClusterState::Synced(std::string* why) const {
  std::string missing;
  for (const auto& r : impl_->core) {
    if (!r->HasSynced()) {
      const ReflectorStats s = r->Stats();
      missing += (missing.empty() ? "" : "; ") + r->name() + " not listed yet" +
                 (s.last_error.empty() ? "" : " (" + s.last_error + ")");
    }
  }
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->split_resolved) {
      missing += (missing.empty() ? "" : "; ") + std::string("trafficsplits: discovery pending") +
                 (impl_->split_error.empty() ? "" : " (" + impl_->split_error + ")");
    } else if (impl_->splits && !impl_->splits->HasSynced()) {
      const ReflectorStats s = impl_->splits->Stats();
      missing += (missing.empty() ? "" : "; ") + impl_->splits->name() + " not listed yet" +
                 (s.last_error.empty() ? "" : " (" + s.last_error + ")");
    }
  }
  if (why) *why = missing;
  return missing.empty();
}

std::shared_ptr<const ClusterSnapshot> WatchedClusterState::Snapshot() const {
  std::string version;
  {
    std::lock_guard lock(impl_->mu);
    version = impl_->split_version;
  }
  return impl_->stores.Snapshot(version);
}

void WatchedClusterState::RememberDepartedPodsFor(std::chrono::milliseconds d) const {
  impl_->stores.RememberDepartedPodsFor(d);
}

ReflectorStats WatchedClusterState::Stats(Resource r) const {
  if (r == Resource::kTrafficSplits) {
    std::lock_guard lock(impl_->mu);
    return impl_->splits ? impl_->splits->Stats() : ReflectorStats{};
  }
  for (const auto& refl : impl_->core) {
    if (refl->name() == ResourceName(r)) return refl->Stats();
  }
  return {};
}

std::string WatchedClusterState::TrafficSplitVersion() const {
  std::lock_guard lock(impl_->mu);
  return impl_->split_version;
}

}  // namespace smi::kube
