#include "kube/authentication_config.h"

#include "kube/rest_client.h"

namespace smi::kube {

namespace {

using nlohmann::json;

std::vector<std::string> JsonArrayString(const json& data, const char* key) {
  if (!data.contains(key)) return {};
  const std::string text = data.at(key).get<std::string>();
  if (text.empty()) return {};
  try {
    const json list = json::parse(text);
    if (list.is_null()) return {};
    return list.get<std::vector<std::string>>();
  } catch (const json::exception&) {
    throw ConfigError(std::string("extension-apiserver-authentication: ") + key +
                      " is not a JSON array of strings: " + text);
  }
}

}  // namespace

ExtensionApiserverAuthentication ParseAuthenticationConfigMap(const json& configmap) {
  if (!configmap.is_object() || configmap.value("kind", "ConfigMap") != "ConfigMap") {
    throw ConfigError("extension-apiserver-authentication: not a ConfigMap");
  }
  const json data = configmap.contains("data") && configmap["data"].is_object() ? configmap["data"]
                                                                                : json::object();
  ExtensionApiserverAuthentication out;
  try {
    out.client_ca_pem = data.value("client-ca-file", "");
    const std::string rh_ca = data.value("requestheader-client-ca-file", "");
    if (!rh_ca.empty()) {
      RequestHeaderConfig rh;
      rh.client_ca_pem = rh_ca;
      rh.allowed_names = JsonArrayString(data, "requestheader-allowed-names");
      rh.username_headers = JsonArrayString(data, "requestheader-username-headers");
      rh.uid_headers = JsonArrayString(data, "requestheader-uid-headers");
      rh.group_headers = JsonArrayString(data, "requestheader-group-headers");
      rh.extra_headers_prefix = JsonArrayString(data, "requestheader-extra-headers-prefix");
      out.request_header = rh;
    }
  } catch (const json::type_error& e) {
    throw ConfigError(std::string("extension-apiserver-authentication: a value is not a string: ") +
                      e.what());
  }
  return out;
}

AuthenticationConfigMapPoller::AuthenticationConfigMapPoller(
    RestConfig config, Options options,
    std::function<void(const ExtensionApiserverAuthentication&)> on_change,
    std::function<void(const std::string&)> on_error)
    : config_(std::move(config)),
      options_(options),
      on_change_(std::move(on_change)),
      on_error_(std::move(on_error)) {}

AuthenticationConfigMapPoller::~AuthenticationConfigMapPoller() { Stop(); }

ExtensionApiserverAuthentication AuthenticationConfigMapPoller::ReadOnce() {
  RestClient::Options o;
  o.connect_timeout = options_.timeout;
  o.request_timeout = options_.timeout;
  RestClient client(config_, o);
  HttpResponse r;
  try {
    r = client.Get(kAuthenticationConfigMapPath);
  } catch (const TransportError& e) {
    throw std::runtime_error(
        std::string("cannot read kube-system/extension-apiserver-authentication: ") + e.what());
  }
  if (r.status != 200) {
    throw std::runtime_error("cannot read kube-system/extension-apiserver-authentication: " +
                             DescribeHttpError(r));
  }
  json j;
  try {
    j = json::parse(r.body);
  } catch (const json::exception& e) {
    throw ConfigError(std::string("extension-apiserver-authentication: not JSON: ") + e.what());
  }
  return ParseAuthenticationConfigMap(j);
}

void AuthenticationConfigMapPoller::Poll() {
  try {
    auto config = ReadOnce();
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      changed = !last_ || !(*last_ == config);
      if (changed) last_ = config;
    }
    if (changed && on_change_) on_change_(config);
  } catch (const std::exception& e) {
    if (on_error_) on_error_(e.what());
    throw;
  }
}

bool AuthenticationConfigMapPoller::Start() {
  bool ok = true;
  try {
    Poll();
  } catch (const std::exception&) {
    ok = false;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!stopping_) {
        if (cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) break;
        lock.unlock();
        try {
          Poll();
        } catch (const std::exception&) {
        }
        lock.lock();
      }
    });
  }
  return ok;
}

void AuthenticationConfigMapPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace smi::kube
