// What the server's Kubernetes client really asks for, observed: the server binary runs against
// the fake kube-apiserver until its caches watch, it has read the authentication ConfigMap, and a
// bearer-token request has made it review a token and an access; the fake's access log is then
// the list of (verb, group, resource) the server used.
#pragma once

#include <string>
#include <vector>

#include "deploy/manifest_checks.h"

namespace smi::deploy_test {

// Throws std::runtime_error (with the server's log) when the server does not get that far.
// `log_lines` gets the fake's access log as it was recorded.
ServerAccess ObserveServerAccess(const std::string& server_binary,
                                 std::vector<std::string>* log_lines = nullptr);

}  // namespace smi::deploy_test
