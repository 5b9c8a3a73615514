// The server process' own gauges in /metrics: its resident memory now and at its peak, read from
// the kernel each time they are serialized.
#pragma once

#include <string>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace smi::config {

class ProcessMetrics {
 public:
  ProcessMetrics();
  // smi_process_resident_memory_bytes and smi_process_peak_resident_memory_bytes, as of now, in
  // the text exposition format. Safe to call from several threads.
  std::string Serialize();

 private:
  ::prometheus::Registry registry_;
  ::prometheus::Gauge& resident_;
  ::prometheus::Gauge& peak_resident_;
};

}  // namespace smi::config
