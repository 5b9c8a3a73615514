#include "plugin/metrics_api.h"

#include <sys/stat.h>

#include <cstdlib>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/strings.h"
#include "base/url.h"
#include "kube/rest_client.h"
#include "model/duration.h"

namespace smi::plugin {

namespace {

using nlohmann::json;

bool FileExists(const std::string& path) {
  struct stat st {};
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The namespace the kubeconfig's context names, or "" (kubectl then uses "default").
std::string ContextNamespace(const std::string& path, const std::string& context) {
  try {
    const YAML::Node root = YAML::LoadFile(path);
    std::string name = context;
    if (name.empty() && root["current-context"] && root["current-context"].IsScalar()) {
      name = root["current-context"].as<std::string>();
    }
    const YAML::Node contexts = root["contexts"];
    if (!contexts || !contexts.IsSequence()) return "";
    for (const auto& c : contexts) {
      if (!c.IsMap() || !c["name"] || !c["name"].IsScalar()) continue;
      if (c["name"].as<std::string>() != name) continue;
      const YAML::Node ns = c["context"] ? c["context"]["namespace"] : YAML::Node();
      return ns && ns.IsScalar() ? ns.as<std::string>() : "";
    }
  } catch (const YAML::Exception&) {
    // LoadKubeconfig has already said what is wrong with the file.
  }
  return "";
}

// The generic wording client-go gives an answer without a Status body (NewGenericServerResponse),
// which kubectl prints after "Error from server (<reason>): ".
std::pair<std::string, std::string> GenericReasonAndMessage(int status, const std::string& body) {
  const std::string server_message = base::Trim(body);
  switch (status) {
    case 400:
      return {"BadRequest", "the server rejected our request for an unknown reason"};
    case 401:
      return {"Unauthorized", "the server has asked for the client to provide credentials"};
    case 403:
      return {"Forbidden", server_message};
    case 404:
      return {"NotFound", "the server could not find the requested resource"};
    case 405:
      return {"MethodNotAllowed",
              "the server does not allow this method on the requested resource"};
    case 406:
      return {"NotAcceptable",
              "the server was unable to respond with a content type that the client supports"};
    case 429:
      return {"TooManyRequests",
              "the server has received too many requests and has asked us to try again later"};
    case 503:
      return {"ServiceUnavailable", "the server is currently unable to handle the request"};
    case 504:
      return {"Timeout",
              "the server was unable to return a response in the time allotted, but may still be "
              "processing the request"};
    default:
      break;
  }
  if (status >= 500) {
    json quoted = server_message;
    return {"InternalError", "an error on the server (" + quoted.dump() +
                                 ") has prevented the request from succeeding"};
  }
  return {"", "the server responded with the status code " + std::to_string(status) +
                  " but did not return more information"};
}

}  // namespace

std::string ApiRequest::Path() const {
  std::string path;
  if (resource == "namespaces") {
    path = "/namespaces";
    if (!name.empty()) path += "/" + base::PercentEncode(name);
  } else {
    if (!ns.empty()) path += "/namespaces/" + base::PercentEncode(ns);
    path += "/" + resource;
    if (!name.empty()) path += "/" + base::PercentEncode(name);
  }
  if (edges) path += "/edges";
  std::string query;
  if (window) query += "&window=" + base::PercentEncode(model::FormatPromDuration(*window));
  if (!label_selector.empty()) query += "&labelSelector=" + base::PercentEncode(label_selector);
  if (!query.empty()) path += "?" + query.substr(1);
  return path;
}

std::string ApiRequest::Describe() const {
  std::string out = resource + "." + std::string(kApiGroup);
  if (!name.empty()) out += " " + name;
  return out;
}

std::string DescribeErrorAnswer(int status, const std::string& body, const std::string& what) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception&) {
    doc = nullptr;
  }
  if (doc.is_object() && doc.value("kind", "") == "Status" && doc.contains("message") &&
      doc["message"].is_string()) {
    const std::string reason = doc.value("reason", "");
    const std::string message = doc["message"].get<std::string>();
    if (reason == "Unauthorized")
      return "error: You must be logged in to the server (" + message + ")";
    if (!reason.empty()) return "Error from server (" + reason + "): " + message;
    return "Error from server: " + message;
  }
  auto [reason, message] = GenericReasonAndMessage(status, body);
  if (!what.empty()) message += " (get " + what + ")";
  if (reason == "Unauthorized")
    return "error: You must be logged in to the server (" + message + ")";
  if (reason.empty()) return "Error from server: " + message;
  return "Error from server (" + reason + "): " + message;
}

Connection ResolveConnection(const std::string& kubeconfig_flag, const std::string& context) {
  std::string path = kubeconfig_flag;
  std::vector<std::string> tried;
  if (path.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
      std::stringstream files(env);
      for (std::string f; std::getline(files, f, ':');) {
        if (f.empty()) continue;
        tried.push_back(f);
        if (FileExists(f)) {
          path = f;
          break;
        }
      }
    } else if (const char* home = std::getenv("HOME"); home && *home) {
      const std::string f = std::string(home) + "/.kube/config";
      tried.push_back(f);
      if (FileExists(f)) path = f;
    }
  }
  Connection c;
  try {
    if (!path.empty()) {
      c.rest = kube::LoadKubeconfig(path, context);
      c.context_namespace = ContextNamespace(path, context);
      return c;
    }
    if (std::getenv("KUBERNETES_SERVICE_HOST") && context.empty()) {
      c.rest = kube::InClusterConfig();
      const std::string ns_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
      if (FileExists(ns_file)) c.context_namespace = base::Trim(base::ReadFile(ns_file));
      return c;
    }
  } catch (const kube::ConfigError& e) {
    throw KubectlError(std::string("error: ") + e.what());
  } catch (const std::runtime_error& e) {
    throw KubectlError(std::string("error: ") + e.what());
  }
  std::string message = "error: no kubeconfig found";
  if (!tried.empty()) {
    message += " (looked for";
    for (const auto& t : tried) message += " " + t;
    message += ")";
  }
  throw KubectlError(message + "; name one with --kubeconfig or $KUBECONFIG");
}

MetricsApi::MetricsApi(kube::RestConfig config, std::chrono::milliseconds request_timeout)
    : server_(config.server) {
  kube::RestClient::Options options;
  options.connect_timeout = std::min(request_timeout, std::chrono::milliseconds(10000));
  options.request_timeout = request_timeout;
  try {
    client_ = std::make_unique<kube::RestClient>(std::move(config), options);
  } catch (const std::exception& e) {
    throw KubectlError(std::string("error: ") + e.what());
  }
}

MetricsApi::~MetricsApi() = default;

json MetricsApi::GetPath(const std::string& path, const std::string& what) {
  kube::HttpResponse answer;
  try {
    answer = client_->Get(path);
  } catch (const kube::TransportError& e) {
    throw KubectlError(std::string("Unable to connect to the server: ") + e.what());
  } catch (const std::exception& e) {
    throw KubectlError(std::string("error: ") + e.what());
  }
  if (answer.status != 200)
    throw KubectlError(DescribeErrorAnswer(answer.status, answer.body, what));
  try {
    return json::parse(answer.body);
  } catch (const json::exception&) {
    throw KubectlError("error: the server answered GET " + path +
                       " with something that is not JSON");
  }
}

std::string MetricsApi::GroupVersion() {
  if (version_) return *version_;
  const std::string group_path = "/apis/" + std::string(kApiGroup);
  kube::HttpResponse answer;
  try {
    answer = client_->Get(group_path);
  } catch (const kube::TransportError& e) {
    throw KubectlError(std::string("Unable to connect to the server: ") + e.what());
  }
  if (answer.status == 404) {
    throw KubectlError("error: the server " + server_ +
                       " does not serve the SMI Traffic Metrics API (" + std::string(kApiGroup) +
                       "): no APIService is registered for it, or this is not the cluster you "
                       "meant");
  }
  std::string version = "v1alpha1";
  if (answer.status == 200) {
    try {
      const json group = json::parse(answer.body);
      const std::string preferred = group.at("preferredVersion").at("version");
      if (preferred == "v1alpha1" || preferred == "v1alpha2") version = preferred;
    } catch (const json::exception&) {
      // An APIGroup without a preferred version: v1alpha1 is the spec's published version.
    }
  } else if (answer.status == 401) {
    throw KubectlError(DescribeErrorAnswer(answer.status, answer.body, ""));
  }
  // Any other answer (403 for discovery, a 503 of an unavailable APIService) leaves the request
  // itself to report what is wrong.
  version_ = version;
  return version;
}

json MetricsApi::Get(const ApiRequest& request) {
  const std::string version = GroupVersion();
  return GetPath("/apis/" + std::string(kApiGroup) + "/" + version + request.Path(),
                 request.Describe());
}

}  // namespace smi::plugin
