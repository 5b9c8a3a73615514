#include "config/process_metrics.h"

#include "base/process_memory.h"
#include "sources/source_metrics.h"

namespace smi::config {

ProcessMetrics::ProcessMetrics()
    : resident_(::prometheus::BuildGauge()
                    .Name("smi_process_resident_memory_bytes")
                    .Help("Memory the server process has resident now (VmRSS)")
                    .Register(registry_)
                    .Add({})),
      peak_resident_(::prometheus::BuildGauge()
                         .Name("smi_process_peak_resident_memory_bytes")
                         .Help("The most memory the server process has had resident (VmHWM)")
                         .Register(registry_)
                         .Add({})) {}

std::string ProcessMetrics::Serialize() {
  if (const auto memory = base::ReadProcessMemory()) {
    resident_.Set(static_cast<double>(memory->resident_bytes));
    peak_resident_.Set(static_cast<double>(memory->peak_resident_bytes));
  }
  return sources::SerializeMetrics(registry_);
}

}  // namespace smi::config
