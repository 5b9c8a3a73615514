#include "config/process_metrics.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace smi::config {
namespace {

// The value of the unlabelled sample `name` in exposition text; -1 when absent.
double Sample(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(ProcessMetrics, ResidentAndPeakMemory) {
  ProcessMetrics metrics;
  const std::string text = metrics.Serialize();
  EXPECT_NE(text.find("# TYPE smi_process_resident_memory_bytes gauge"), std::string::npos) << text;
  const double resident = Sample(text, "smi_process_resident_memory_bytes");
  const double peak = Sample(text, "smi_process_peak_resident_memory_bytes");
  EXPECT_GT(resident, 0) << text;
  EXPECT_GE(peak, resident) << text;
}

}  // namespace
}  // namespace smi::config
