// The wiring: builds every part of the server from its settings (ServerFlags) and serves. Each
// step is a named function in server.cpp, in the order the parts depend on each other: serving
// certificate, client CA, Kubernetes access, source, caches, authentication, authorization,
// answers, readiness, HTTPS.
#pragma once

#include "config/flags.h"

namespace smi::config {

// Serves until SIGINT or SIGTERM (which the caller must have blocked in every thread). Returns the
// process exit code; throws std::exception with the message to print when start-up fails.
int RunServer(const ServerFlags& flags);

}  // namespace smi::config
