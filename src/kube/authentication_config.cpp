#include "kube/authentication_config.h"

#include "kube/rest_client.h"

namespace smi::kube {

namespace {

using nlohmann::json;

constexpr const char* kWhat = "extension-apiserver-authentication: ";

// The string at `key`; empty when absent or null. Anything else is an error naming the key, never
// a json::type_error: the caller promises ConfigError only.
std::string StringValue(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) throw ConfigError(std::string(kWhat) + key + " is not a string");
  return it->get<std::string>();
}

std::vector<std::string> JsonArrayString(const json& data, const char* key) {
  const std::string text = StringValue(data, key);
  if (text.empty()) return {};
  const json list = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (list.is_null()) return {};
  if (list.is_array()) {
    std::vector<std::string> out;
    for (const auto& item : list) {
      if (!item.is_string()) break;
      out.push_back(item.get<std::string>());
    }
    if (out.size() == list.size()) return out;
  }
  // (A parse error is a discarded value, neither null nor an array.)
  throw ConfigError(std::string(kWhat) + key + " is not a JSON array of strings: " + text);
}

}  // namespace

ExtensionApiserverAuthentication ParseAuthenticationConfigMap(const json& configmap) {
  if (!configmap.is_object()) throw ConfigError(std::string(kWhat) + "not a ConfigMap");
  if (const auto kind = configmap.find("kind");
      kind != configmap.end() && !(kind->is_string() && *kind == "ConfigMap")) {
    throw ConfigError(std::string(kWhat) + "not a ConfigMap");
  }
  static const json kNoData = json::object();
  const auto data_it = configmap.find("data");
  const json& data = data_it != configmap.end() && data_it->is_object() ? *data_it : kNoData;
  ExtensionApiserverAuthentication out;
  out.client_ca_pem = StringValue(data, "client-ca-file");
  const std::string rh_ca = StringValue(data, "requestheader-client-ca-file");
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
