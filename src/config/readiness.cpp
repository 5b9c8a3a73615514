#include "config/readiness.h"

#include <prometheus/family.h>

namespace smi::config {

SourceHealth::SourceHealth(sources::TrafficSource& source, ::prometheus::Registry& registry,
                           Options options)
    : source_(source),
      options_(options),
      ready_gauge_(::prometheus::BuildGauge()
                       .Name("smi_source_ready")
                       .Help("1 when the last check found the source of numbers answering "
                             "(Prometheus: /-/ready), else 0; informational, not part of /readyz")
                       .Register(registry)
                       .Add({})),
      checks_(::prometheus::BuildCounter()
                  .Name("smi_source_readiness_checks_total")
                  .Help("Checks of the source of numbers, by result")
                  .Register(registry)),
      ready_checks_(checks_.Add({{"result", "ready"}})),
      not_ready_checks_(checks_.Add({{"result", "not_ready"}})) {}

SourceHealth::~SourceHealth() { Stop(); }

void SourceHealth::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      CheckNow();
      lock.lock();
      cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void SourceHealth::Stop() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void SourceHealth::CheckNow() {
  std::string why;
  bool ready = false;
  try {
    ready = source_.Ready(&why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!ready && why.empty()) why = "the source is not ready";
  (ready ? ready_checks_ : not_ready_checks_).Increment();
  ready_gauge_.Set(ready ? 1 : 0);
  std::lock_guard lock(mu_);
  checked_ = true;
  ready_ = ready;
  why_ = ready ? "" : why;
}

bool SourceHealth::Ready(std::string* why) const {
  std::lock_guard lock(mu_);
  if (!checked_) {
    if (why) *why = "not checked yet";
    return false;
  }
  if (!ready_ && why) *why = why_;
  return ready_;
}

apiserver::HealthChecks ReadinessChecks(const kube::ClusterState* cluster,
                                        const SourceHealth& source_health) {
  apiserver::HealthChecks checks;
  if (cluster) {
    checks.push_back({"kubernetes-caches", [cluster](std::string* why) {
                        std::string caches;
                        if (cluster->Synced(&caches)) return true;
                        *why = "not synced: " + caches;
                        return false;
                      }});
  }
  checks.push_back({"source",
                    [&source_health](std::string* why) { return source_health.Ready(why); },
                    /*informational=*/true});
  return checks;
}

}  // namespace smi::config
