// OpenAPI documents of the group, as kube-openapi serves them: Swagger 2.0 at /openapi/v2, the
// OpenAPI v3 root at /openapi/v3 and one 3.0 document per group version. Their schemas carry
// `x-kubernetes-group-version-kind`, which is what `kubectl explain trafficmetrics` looks up.
#pragma once

#include <string>
#include <string_view>

namespace smi::apiserver {

std::string OpenApiV2Json();
// {"paths":{"apis/metrics.smi-spec.io/v1alpha1":{"serverRelativeURL":"...?hash=<SHA512>"}}}
std::string OpenApiV3RootJson();
std::string OpenApiV3VersionJson(std::string_view version);
// The hash kube-openapi puts in serverRelativeURL and, quoted, in the ETag: upper-case hex SHA-512.
std::string OpenApiV3Hash(std::string_view version);

// Upper-case hex SHA-512 of `data` (kube-openapi's and aggregated discovery's ETags).
std::string Sha512Hex(std::string_view data);

}  // namespace smi::apiserver
