// Which pods sidecar mode scrapes, where, and with which target labels, from real-shaped Pod
// objects (as meshsim and kube-apiserver write them).
#include "sources/sidecars/targets.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kube/cluster_state.h"
#include "sources/prometheus/builtin_profiles.h"

namespace smi::sources::sidecars {
namespace {

using nlohmann::json;

json LinkerdPod(const std::string& name, const std::string& ip, int admin_port,
                const std::string& phase = "Running") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "shop"},
            {"uid", "uid-" + name},
            {"labels",
             {{"app", "web"},
              {"pod-template-hash", "5d8f9"},
              {"linkerd.io/proxy-deployment", "web"},
              {"linkerd.io/control-plane-ns", "linkerd"}}},
            {"annotations", {{"linkerd.io/inject", "enabled"}}}}},
          {"spec",
           {{"containers",
             json::array({{{"name", "web"}, {"ports", json::array({{{"containerPort", 8080}}})}},
                          {{"name", "linkerd-proxy"},
                           {"ports", json::array({{{"name", "linkerd-proxy"},
                                                   {"containerPort", 4143}},
                                                  {{"name", "linkerd-admin"},
                                                   {"containerPort", admin_port}}})}}})}}},
          {"status", {{"phase", phase}, {"podIP", ip}}}};
}

json IstioPod(const std::string& name, const std::string& ip, const json& annotations) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "shop"},
            {"labels", {{"app", "api"}, {"version", "v2"}}},
            {"annotations", annotations}}},
          {"spec", {{"containers", json::array({{{"name", "api"}}, {{"name", "istio-proxy"}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

json Unmeshed(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "shop"}}},
          {"spec", {{"containers", json::array({{{"name", "batch"}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", "10.0.0.99"}}}};
}

TEST(MeshedTargets, LinkerdPodsAreFoundByTheirProxyAndLabelledAsLinkerdVizDoes) {
  kube::StaticClusterState cluster;
  cluster.Load({{"kind", "List"},
                {"items", json::array({LinkerdPod("web-1", "10.0.0.1", 4191),
                                       LinkerdPod("web-2", "10.0.0.2", 14191),
                                       LinkerdPod("web-3", "", 4191, "Pending"),
                                       LinkerdPod("web-4", "10.0.0.4", 4191, "Succeeded"),
                                       Unmeshed("cron-1")})}});
  const prometheus::MeshProfileSpec spec = prometheus::BuiltinProfileSpec("linkerd");
  const auto targets = MeshedTargets(*spec.sidecars, "linkerd-proxy", *cluster.Snapshot());
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].scrape, (ScrapeTarget{"shop/web-1", "10.0.0.1", 4191, "/metrics"}));
  // The admin port is the pod's own, by name.
  EXPECT_EQ(targets[1].scrape, (ScrapeTarget{"shop/web-2", "10.0.0.2", 14191, "/metrics"}));
  const LabelSet& l = targets[0].labels;
  EXPECT_EQ(l.Get("job"), "linkerd-proxy");
  EXPECT_EQ(l.Get("instance"), "10.0.0.1:4191");
  EXPECT_EQ(l.Get("namespace"), "shop");
  EXPECT_EQ(l.Get("pod"), "web-1");
  EXPECT_EQ(l.Get("deployment"), "web");
  EXPECT_EQ(l.Get("control_plane_ns"), "linkerd");
  EXPECT_EQ(l.Get("pod_template_hash"), "5d8f9");
  EXPECT_EQ(l.Get("app"), "web");
}

TEST(MeshedTargets, IstioPodsAreFoundByTheSidecarStatusAndScrapedWhereTheyAnnounce) {
  kube::StaticClusterState cluster;
  cluster.Load(
      {{"kind", "List"},
       {"items",
        json::array({IstioPod("api-1", "10.0.1.1",
                              {{"sidecar.istio.io/status", "{\"containers\":[\"istio-proxy\"]}"},
                               {"prometheus.io/port", "15020"},
                               {"prometheus.io/path", "/stats/prometheus"}}),
                     IstioPod("api-2", "10.0.1.2",
                              {{"sidecar.istio.io/status", "{}"},
                               {"prometheus.io/port", "9999"},
                               {"prometheus.io/path", "/custom"}}),
                     // Without announcements: the profile's defaults. A port that is not a
                     // number is ignored.
                     IstioPod("api-3", "fd00::3",
                              {{"sidecar.istio.io/status", "{}"}, {"prometheus.io/port", "x"}}),
                     IstioPod("api-4", "10.0.1.4", json::object())})}});
  const prometheus::MeshProfileSpec spec = prometheus::BuiltinProfileSpec("istio");
  const auto targets = MeshedTargets(*spec.sidecars, "kubernetes-pods", *cluster.Snapshot());
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].scrape,
            (ScrapeTarget{"shop/api-1", "10.0.1.1", 15020, "/stats/prometheus"}));
  EXPECT_EQ(targets[1].scrape, (ScrapeTarget{"shop/api-2", "10.0.1.2", 9999, "/custom"}));
  EXPECT_EQ(targets[2].scrape, (ScrapeTarget{"shop/api-3", "fd00::3", 15020, "/stats/prometheus"}));
  EXPECT_EQ(targets[2].labels.Get("instance"), "[fd00::3]:15020");
  EXPECT_EQ(targets[0].labels.Get("version"), "v2");
  EXPECT_EQ(targets[0].labels.Get("job"), "kubernetes-pods");
}

TEST(SanitizeLabelName, AsPrometheusLabelMapDoes) {
  EXPECT_EQ(SanitizeLabelName("app.kubernetes.io/name"), "app_kubernetes_io_name");
  EXPECT_EQ(SanitizeLabelName("pod-template-hash"), "pod_template_hash");
  EXPECT_EQ(SanitizeLabelName("plain_1"), "plain_1");
}

}  // namespace
}  // namespace smi::sources::sidecars
