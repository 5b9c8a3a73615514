// What /readyz says (docs/decisions.md, decision 14: ready means "this process can serve").
//
// Required: the Kubernetes caches have synced (until then every answer would be a 503 or wrong).
// Informational: whether the source of numbers answers. Discovery, OpenAPI, errors and
// authorization need no backend, so a Prometheus outage must not take the pods out of the
// Service: the APIService would turn Available=False and every kubectl command in the cluster
// would print discovery errors. The backend's health is reported instead, in /readyz?verbose, in
// /metrics (smi_source_ready) and in the 503 Status of every request that needs it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "apiserver/health.h"
#include "kube/cluster_state.h"
#include "sources/traffic_source.h"

namespace smi::config {

// The source's health, asked in the background so that /readyz answers at once whatever the
// backend does (a kubelet probe times out after a second; a blackholed Prometheus takes the whole
// --prometheus-timeout to fail).
//
//   smi_source_ready                   1 when the last check found the source answering, else 0
//   smi_source_readiness_checks_total  checks made, by result (ready, not_ready)
class SourceHealth {
 public:
  struct Options {
    std::chrono::milliseconds interval{10000};  // between the end of a check and the next
  };

  SourceHealth(sources::TrafficSource& source, ::prometheus::Registry& registry, Options options);
  SourceHealth(sources::TrafficSource& source, ::prometheus::Registry& registry)
      : SourceHealth(source, registry, Options{}) {}
  ~SourceHealth();  // stops
  SourceHealth(const SourceHealth&) = delete;
  SourceHealth& operator=(const SourceHealth&) = delete;

  // Checks at once, then every interval, on a thread of its own.
  void Start();
  void Stop();
  // Asks the source now and records the answer (the thread's step; tests call it directly).
  void CheckNow();
  // The last answer; on false `why` says what is wrong, or that no check has finished yet.
  bool Ready(std::string* why) const;

 private:
  sources::TrafficSource& source_;
  const Options options_;
  ::prometheus::Gauge& ready_gauge_;
  ::prometheus::Family<::prometheus::Counter>& checks_;
  ::prometheus::Counter& ready_checks_;
  ::prometheus::Counter& not_ready_checks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool checked_ = false;
  bool ready_ = false;
  std::string why_;
  bool stopping_ = false;
  std::thread thread_;
};

// The checks /readyz runs, in order: "kubernetes-caches" (required; only when `cluster` is set:
// without Kubernetes knowledge there is nothing to sync), then "source" (informational, the last
// answer of `source_health`). Both must outlive the checks.
apiserver::HealthChecks ReadinessChecks(const kube::ClusterState* cluster,
                                        const SourceHealth& source_health);

}  // namespace smi::config
