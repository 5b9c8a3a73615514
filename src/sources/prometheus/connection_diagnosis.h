// Why a TCP connection to the Prometheus server fails, in words that call for the right fix.
#pragma once

#include <chrono>
#include <string>

namespace smi::sources::prometheus {

// Tries once more with plain sockets, waiting at most `timeout`: httplib only says "Connection",
// and "connection refused" and "cannot resolve" call for different fixes. Returns the cause in
// lower case ("cannot resolve host \"prom\": ...", "connection refused", "no connection within
// 1s").
std::string DiagnoseConnect(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace smi::sources::prometheus
