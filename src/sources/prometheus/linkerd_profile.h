// The Linkerd mesh profile: the PromQL that asks Prometheus for Linkerd proxy metrics
// (response_total, response_latency_ms_bucket, up) and the mapping of its answers to
// TrafficSamples.
#pragma once

#include <string>
#include <vector>

#include "sources/prometheus/prometheus_client.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// The (at most two) instant queries one SampleQuery needs; both are evaluated at query.at.
struct ProfileQueries {
  // success/failure increases (by `classification`), plus `smi_exists` rows from `up` for the
  // objects that exist, and for edges `smi_edge="to"|"from"` on each row.
  std::string counts;
  // latency bucket increases (by `le`, in milliseconds).
  std::string buckets;
};

class LinkerdProfile {
 public:
  // `proxy_job`: the Prometheus job that scrapes the proxies (linkerd-viz names it
  // "linkerd-proxy").
  explicit LinkerdProfile(std::string proxy_job = "linkerd-proxy");

  // Throws std::invalid_argument for names that are not valid Kubernetes names (DNS-1123), for an
  // edges query without its object, and for a window below 1ms.
  ProfileQueries BuildQueries(const SampleQuery& query) const;

  // Turns the answers to BuildQueries(query) into samples (evaluated_at and warnings are left to
  // the caller). Output is sorted: resources by reference, edges by (resource, direction, side,
  // peer).
  TrafficSamples ToSamples(const SampleQuery& query, const std::vector<VectorSample>& counts,
                           const std::vector<VectorSample>& buckets) const;

  const std::string& proxy_job() const { return proxy_job_; }

 private:
  std::string proxy_job_;
};

// The Prometheus label Linkerd's scrape config gives the owner of a proxy: "pod", "deployment",
// "statefulset", "daemonset", "namespace".
std::string_view KindLabel(ResourceKind kind);

}  // namespace smi::sources::prometheus
