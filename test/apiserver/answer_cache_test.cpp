// The answer cache (docs/serving.md, "Answer cache"): a reused answer is byte for byte what a
// handler without the cache computes; a new evaluation second, a change of the Kubernetes caches,
// or a source answer the source no longer holds gives a new answer; each representation is kept
// apart; authorization still runs for every request; errors, warnings and unsynced caches are
// never kept; the cache stays within its bounds. Whether an answer was reused is seen from the
// source: a reused answer asks it nothing.
#include "apiserver/answer_cache.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "apiserver/api_handler.h"
#include "apiserver/authorization.h"
#include "apiserver/https_server.h"
#include "apiserver/pki.h"
#include "fakekube/fake_kube_api.h"
#include "kube/access_review.h"
#include "kube/cluster_state.h"
#include "kube/credentials.h"
#include "kube/watched_cluster.h"
#include "mocks/fake_source.h"
#include "mocks/unsynced_cluster.h"
#include "sources/source_metrics.h"
#include "support/metrics_text.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";
constexpr const char* kTableV1 = "application/json;as=Table;v=v1;g=meta.k8s.io";
constexpr const char* kTableV1beta1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io";
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Fixture() { return std::string(SMI_FAKEKUBE_FIXTURES) + "/emojivoto.json"; }

// A fake source whose answers the test names: every fetch reports one source answer with the
// current `answer_id`, and the source holds an answer while its id is the current one. A test
// that changes what the source answers also changes the id, as a real source's new answer has a
// new one.
class IdentifiedSource : public testing::FakeSource {
 public:
  sources::TrafficSamples Fetch(const sources::SampleQuery& query) override {
    auto samples = FakeSource::Fetch(query);
    samples.answers = {{"fake query", query.at, answer_id}};
    return samples;
  }
  bool StillAnswers(const std::vector<sources::SourceAnswer>& answers) override {
    for (const auto& a : answers) {
      if (a.id == 0 || a.id != answer_id) return false;
    }
    return true;
  }
  uint64_t answer_id = 1;
};

sources::TrafficCounts Counts(double success, double failure) {
  sources::TrafficCounts c;
  c.success = success;
  c.failure = failure;
  const double n = success + failure;
  c.latency_buckets = {{0.010, n / 2}, {0.050, n}, {kInf, n}};
  return c;
}

model::ObjectReference PodRef(const std::string& name) { return {"Pod", "emojivoto", name, ""}; }

// Alice may read; everyone else is refused, as RBAC would.
class AliceOnlyReviewer : public kube::AccessReviewer {
 public:
  kube::TokenReviewResult ReviewToken(const std::string&,
                                      const std::vector<std::string>&) override {
    return {};
  }
  kube::SubjectAccessReviewStatus ReviewAccess(const kube::SubjectAccessReviewSpec& spec) override {
    ++reviews;
    kube::SubjectAccessReviewStatus status;
    status.allowed = spec.user.username == "alice";
    return status;
  }
  int reviews = 0;
};

HttpRequest Request(const std::string& path, const std::string& accept = "",
                    std::multimap<std::string, std::string> params = {},
                    const std::string& user = "alice") {
  HttpRequest r;
  r.path = path;
  r.params = std::move(params);
  if (!accept.empty()) r.headers["accept"] = accept;
  if (!user.empty()) r.identity = Identity{user, {"system:authenticated"}, "", {}};
  return r;
}

class AnswerCacheTest : public ::testing::Test {
 protected:
  explicit AnswerCacheTest(AnswerCacheOptions options = {})
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        cluster_(kube::StaticClusterState::FromFile(Fixture())),
        service_(source_, clock_, {}, cluster_.get()),
        cache_(options, clock_, &registry_),
        cached_(service_),
        fresh_(service_) {
    cached_.set_answer_cache(&cache_);
    auto& s = source_.resource_samples;
    s.resources = {{PodRef("web-5f7b9c6d4b-x8k2p"), Counts(90, 10)},
                   {PodRef("web-5f7b9c6d4b-q9m4z"), Counts(45, 5)},
                   {PodRef("emoji-66c4d7f8c9-7hz2l"), Counts(200, 0)},
                   {{"Namespace", "", "emojivoto", ""}, Counts(335, 15)}};
    auto& e = source_.edge_samples;
    e.edges = {{{"Deployment", "emojivoto", "web", ""},
                model::Direction::kTo,
                model::Side::kClient,
                {"Deployment", "emojivoto", "emoji", ""},
                Counts(200, 0)}};
  }

  HttpResponse Cached(const std::string& path, const std::string& accept = "",
                      std::multimap<std::string, std::string> params = {},
                      const std::string& user = "alice") {
    return cached_.Handle(Request(path, accept, std::move(params), user));
  }
  HttpResponse Fresh(const std::string& path, const std::string& accept = "",
                     std::multimap<std::string, std::string> params = {}) {
    return fresh_.Handle(Request(path, accept, std::move(params)));
  }
  size_t Fetches() const { return source_.queries.size(); }
  double Lookups(const std::string& outcome) {
    return test_support::ScrapeValue(sources::SerializeMetrics(registry_),
                                     "smi_answer_cache_lookups_total{outcome=\"" + outcome + "\"}");
  }

  IdentifiedSource source_;
  testing::ManualClock clock_;
  std::unique_ptr<kube::StaticClusterState> cluster_;
  aggregation::TrafficMetricsService service_;
  prometheus::Registry registry_;
  AnswerCache cache_;
  ApiHandler cached_;  // with the cache
  ApiHandler fresh_;   // the same service without it: every answer computed
};

TEST_F(AnswerCacheTest, AReusedAnswerHasTheBytesOfAFreshComputation) {
  const std::string ns = std::string(kBase) + "/namespaces/emojivoto";
  const std::vector<std::pair<std::string, std::multimap<std::string, std::string>>> requests = {
      {ns + "/deployments/web", {}},
      {ns + "/deployments", {}},
      {ns + "/deployments", {{"labelSelector", "app=web"}}},
      {ns + "/pods", {{"fieldSelector", "metadata.name=debug"}}},
      {ns + "/pods", {{"window", "1m"}}},
      {ns + "/deployments/web/edges", {}},
      {ns + "/trafficmetrics", {}},
      {ns + "/trafficmetrics/web", {}},
      {std::string(kBase) + "/namespaces/emojivoto", {}},
      {ns + "/trafficsplits", {}},
  };
  for (const auto& [path, params] : requests) {
    for (const std::string accept : {"", kTableV1}) {
      SCOPED_TRACE(path + " " + accept);
      const auto first = Cached(path, accept, params);
      ASSERT_EQ(first.status, 200) << first.body;
      const size_t fetches = Fetches();
      const auto again = Cached(path, accept, params);
      EXPECT_EQ(Fetches(), fetches) << "the kept answer was not reused";
      const auto fresh = Fresh(path, accept, params);
      ASSERT_EQ(fresh.status, 200) << fresh.body;
      EXPECT_EQ(again.body, fresh.body);
      EXPECT_EQ(first.body, fresh.body);
      EXPECT_EQ(again.content_type, fresh.content_type);
      EXPECT_EQ(again.headers, fresh.headers);
    }
  }
  EXPECT_EQ(Lookups("hit"), 2.0 * static_cast<double>(requests.size()));
}

TEST_F(AnswerCacheTest, ANewEvaluationSecondGivesANewAnswer) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  const auto first = Cached(path);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["timestamp"], "2023-11-14T22:13:19Z");
  const size_t fetches = Fetches();

  clock_.Advance(400ms);  // 1700000000.9: still evaluated at ...19
  EXPECT_EQ(Cached(path).body, first.body);
  EXPECT_EQ(Fetches(), fetches);

  clock_.Advance(200ms);  // 1700000001.1: evaluated at ...20
  const auto next = Cached(path);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(Fetches(), fetches + 1);
  EXPECT_EQ(json::parse(next.body)["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(source_.queries.back().at, std::chrono::system_clock::time_point(1700000000s));
  EXPECT_EQ(next.body, Fresh(path).body);
}

TEST_F(AnswerCacheTest, AChangeOfTheKubernetesCachesGivesANewAnswer) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/pods";
  const auto before = Cached(path);
  ASSERT_EQ(before.status, 200) << before.body;
  const size_t pods = json::parse(before.body)["items"].size();
  const size_t fetches = Fetches();

  ASSERT_TRUE(cluster_->Upsert(fakekube::MakePod("emojivoto", "web-5f7b9c6d4b-new",
                                                 {{"app", "web"}}, nullptr, "10.0.0.99")));
  const auto after = Cached(path);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Fetches(), fetches + 1);
  const auto items = json::parse(after.body)["items"];
  ASSERT_EQ(items.size(), pods + 1);
  bool listed = false;
  for (const auto& item : items) listed |= item["resource"]["name"] == "web-5f7b9c6d4b-new";
  EXPECT_TRUE(listed);
  EXPECT_EQ(after.body, Fresh(path).body);

  // A deleted object is gone from the next answer as well.
  ASSERT_TRUE(cluster_->Remove("v1", "Pod", "emojivoto", "web-5f7b9c6d4b-new"));
  EXPECT_EQ(Cached(path).body, before.body);
}

TEST_F(AnswerCacheTest, EachRepresentationIsKeptApart) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  const auto as_json = Cached(path);
  const auto as_table = Cached(path, kTableV1);
  const auto as_old_table = Cached(path, kTableV1beta1);
  ASSERT_EQ(as_json.status, 200);
  ASSERT_EQ(as_table.status, 200);
  ASSERT_EQ(as_old_table.status, 200);
  EXPECT_EQ(json::parse(as_json.body)["kind"], "TrafficMetrics");
  EXPECT_EQ(json::parse(as_table.body)["kind"], "Table");
  EXPECT_EQ(json::parse(as_table.body)["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(json::parse(as_old_table.body)["apiVersion"], "meta.k8s.io/v1beta1");
  const size_t fetches = Fetches();

  // Each is reused as itself; an Accept that negotiates to the same representation shares it.
  EXPECT_EQ(Cached(path, kTableV1).body, as_table.body);
  EXPECT_EQ(Cached(path).body, as_json.body);
  EXPECT_EQ(Cached(path, "application/json").body, as_json.body);
  EXPECT_EQ(Cached(path, kTableV1beta1).body, as_old_table.body);
  EXPECT_EQ(Fetches(), fetches);
  // includeObject is part of the request: its own answer.
  const auto with_object = Cached(path, kTableV1, {{"includeObject", "Object"}});
  EXPECT_EQ(with_object.body, Fresh(path, kTableV1, {{"includeObject", "Object"}}).body);
  EXPECT_NE(with_object.body, as_table.body);
}

TEST_F(AnswerCacheTest, AnUnauthorizedUserIsRefusedAnAnswerThatIsKept) {
  AliceOnlyReviewer reviewer;
  Authorizer authorizer({}, &reviewer, clock_);
  cached_.set_authorizer(&authorizer);
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  const auto alice = Cached(path);
  ASSERT_EQ(alice.status, 200) << alice.body;
  ASSERT_EQ(Cached(path).body, alice.body);
  const size_t fetches = Fetches();

  const auto mallory = Cached(path, "", {}, "mallory");
  EXPECT_EQ(mallory.status, 403);
  EXPECT_EQ(json::parse(mallory.body)["reason"], "Forbidden");
  EXPECT_EQ(json::parse(mallory.body)["message"],
            "deployments.metrics.smi-spec.io \"web\" is forbidden: User \"mallory\" cannot get "
            "resource \"deployments\" in API group \"metrics.smi-spec.io\" in the namespace "
            "\"emojivoto\"");
  EXPECT_EQ(Cached(path, kTableV1, {}, "mallory").status, 403);
  EXPECT_EQ(Cached(path, "", {}, "").status, 401) << "no identity";
  EXPECT_EQ(Fetches(), fetches);
  EXPECT_EQ(Cached(path).body, alice.body);
}

TEST_F(AnswerCacheTest, AnAnswerTheSourceNoLongerHoldsIsComputedAgain) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  const auto first = Cached(path);
  ASSERT_EQ(first.status, 200);
  const size_t fetches = Fetches();

  // The source asked its backend again for the same second (its own cache let the answer go)
  // and got other numbers: a new answer, with a new id.
  source_.resource_samples.resources[0].counts = Counts(190, 10);
  source_.answer_id = 2;
  const auto next = Cached(path);
  EXPECT_EQ(Fetches(), fetches + 1);
  EXPECT_NE(next.body, first.body);
  EXPECT_EQ(next.body, Fresh(path).body);
  EXPECT_EQ(Lookups("stale"), 1);
  EXPECT_EQ(Cached(path).body, next.body);
  EXPECT_EQ(Fetches(), fetches + 2) << "the fresh handler fetched once, the kept answer none";
}

TEST_F(AnswerCacheTest, AnswersWithWarningsOrWithoutSourceIdentityAreNotKept) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  source_.resource_samples.warnings = {"partial answer: store-1 unreachable"};
  // Each answer carries the warning to the client: none is served from a kept answer without it.
  for (int i = 0; i < 2; ++i) {
    const auto r = Cached(path);
    ASSERT_EQ(r.status, 200);
    int warnings = 0;
    for (const auto& [name, value] : r.headers) {
      if (name != "Warning") continue;
      ++warnings;
      EXPECT_EQ(value, R"(299 - "metrics source: partial answer: store-1 unreachable")");
    }
    EXPECT_EQ(warnings, 1);
  }
  EXPECT_EQ(Fetches(), 2u);
  EXPECT_EQ(cache_.entries(), 0u);

  source_.resource_samples.warnings.clear();
  source_.answer_id = 0;  // a source that keeps no answer (its cache is off)
  ASSERT_EQ(Cached(path).status, 200);
  ASSERT_EQ(Cached(path).status, 200);
  EXPECT_EQ(Fetches(), 4u);
  EXPECT_EQ(cache_.entries(), 0u);
}

TEST_F(AnswerCacheTest, ErrorsAreNotKept) {
  const std::string ns = std::string(kBase) + "/namespaces/emojivoto";
  EXPECT_EQ(Cached(ns + "/deployments/nope").status, 404);
  EXPECT_EQ(Cached(ns + "/deployments", "", {{"window", "0s"}}).status, 400);
  source_.unavailable = "Prometheus at http://prometheus:9090 is unreachable";
  EXPECT_EQ(Cached(ns + "/deployments/web").status, 503);
  EXPECT_EQ(cache_.entries(), 0u);
  source_.unavailable.reset();
  EXPECT_EQ(Cached(ns + "/deployments/web").status, 200) << "the 503 was not kept";
  EXPECT_EQ(cache_.entries(), 1u);
}

// KeptAnswer is what the server asks on its event loop before handing a request to a worker: it
// must give exactly Handle's answer, and only when nothing on the way would have to wait.
TEST_F(AnswerCacheTest, KeptAnswerIsHandlesAnswerAndNeverWaits) {
  AliceOnlyReviewer reviewer;
  Authorizer authorizer({}, &reviewer, clock_);
  cached_.set_authorizer(&authorizer);
  source_.retention = 24h;
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments";
  const HttpRequest alice = Request(path, kTableV1);
  EXPECT_FALSE(cached_.KeptAnswer(alice)) << "nothing kept yet";

  const auto handled = cached_.Handle(alice);
  ASSERT_EQ(handled.status, 200) << handled.body;
  const size_t fetches = Fetches();
  const int reviews = reviewer.reviews;
  const auto kept = cached_.KeptAnswer(alice);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, handled.status);
  EXPECT_EQ(kept->content_type, handled.content_type);
  EXPECT_EQ(kept->headers, handled.headers);
  EXPECT_EQ(kept->body, handled.body);
  EXPECT_EQ(kept->body, Fresh(path, kTableV1).body);

  // Handle's to answer: another representation not kept yet, a user whose review is not known
  // (asking would wait), no identity, a write, a path that is not a metrics answer.
  EXPECT_FALSE(cached_.KeptAnswer(Request(path)));
  EXPECT_FALSE(cached_.KeptAnswer(Request(path, kTableV1, {}, "mallory")));
  EXPECT_FALSE(cached_.KeptAnswer(Request(path, kTableV1, {}, "")));
  HttpRequest post = alice;
  post.method = "POST";
  EXPECT_FALSE(cached_.KeptAnswer(post));
  EXPECT_FALSE(cached_.KeptAnswer(Request("/version")));
  EXPECT_EQ(Fetches(), fetches + 1) << "only the fresh handler asked the source";
  EXPECT_EQ(reviewer.reviews, reviews) << "no review was asked";

  // Mallory, once refused, is still refused: by Handle, never by a kept answer.
  EXPECT_EQ(cached_.Handle(Request(path, kTableV1, {}, "mallory")).status, 403);
  EXPECT_FALSE(cached_.KeptAnswer(Request(path, kTableV1, {}, "mallory")));

  // A new evaluation second: nothing kept for it yet.
  clock_.Advance(1s);
  EXPECT_FALSE(cached_.KeptAnswer(alice));
}

TEST_F(AnswerCacheTest, KeptAnswerWaitsForNoRetentionItHasNotSeen) {
  // The source has not told its retention: checking the window would ask it, so Handle answers.
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  ASSERT_EQ(Cached(path).status, 200);
  EXPECT_EQ(cache_.entries(), 1u);
  EXPECT_FALSE(cached_.KeptAnswer(Request(path)));
  source_.retention = 1h;
  ASSERT_EQ(Cached(path).status, 200);  // the window is checked against it
  EXPECT_TRUE(cached_.KeptAnswer(Request(path)));
  EXPECT_FALSE(cached_.KeptAnswer(Request(path, "", {{"window", "2h"}})))
      << "beyond the retention: Handle's 400";
  EXPECT_EQ(Cached(path, "", {{"window", "2h"}}).status, 400);
}

TEST(AnswerCacheUnsynced, AnswersWhileTheCachesAreNotSyncedAreNotKept) {
  IdentifiedSource source;
  testing::ManualClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  testing::UnsyncedCluster cluster;
  aggregation::TrafficMetricsService service(source, clock, {}, &cluster);
  AnswerCache cache({}, clock);
  ApiHandler handler(service);
  handler.set_answer_cache(&cache);
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/pods";
  for (int i = 0; i < 2; ++i) {
    const auto r = handler.Handle(Request(path));
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("not synced"), std::string::npos) << r.body;
  }
  EXPECT_EQ(cache.entries(), 0u);
  cluster.synced = true;
  EXPECT_EQ(handler.Handle(Request(path)).status, 200);
}

class SmallAnswerCacheTest : public AnswerCacheTest {
 protected:
  SmallAnswerCacheTest() : AnswerCacheTest({/*max_entries=*/3, /*max_bytes=*/6000}) {}
};

TEST_F(SmallAnswerCacheTest, StaysWithinItsEntriesAndBytes) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  for (int i = 1; i <= 20; ++i) {
    const std::string window = std::to_string(i) + "s";
    ASSERT_EQ(Cached(path, "", {{"window", window}}).status, 200);
    EXPECT_LE(cache_.entries(), 3u);
    EXPECT_LE(cache_.bytes(), 6000u);
  }
  EXPECT_EQ(cache_.entries(), 3u);
  // The latest are kept; the earliest were dropped.
  const size_t fetches = Fetches();
  Cached(path, "", {{"window", "20s"}});
  EXPECT_EQ(Fetches(), fetches);
  Cached(path, "", {{"window", "1s"}});
  EXPECT_EQ(Fetches(), fetches + 1);

  // An answer larger than the byte bound is never kept (and pushes nothing out).
  const auto big = Cached(std::string(kBase) + "/pods", kTableV1, {{"includeObject", "Object"}});
  ASSERT_EQ(big.status, 200);
  ASSERT_GT(big.body.size(), 6000u);
  EXPECT_EQ(cache_.entries(), 3u);
}

TEST_F(AnswerCacheTest, EntriesExpireWithTheirEvaluationSecond) {
  const std::string ns = std::string(kBase) + "/namespaces/emojivoto";
  ASSERT_EQ(Cached(ns + "/deployments/web").status, 200);
  ASSERT_EQ(Cached(ns + "/deployments").status, 200);
  EXPECT_EQ(cache_.entries(), 2u);
  clock_.Advance(1s);  // a new evaluation second: the two can never be asked for again
  ASSERT_EQ(Cached(ns + "/pods").status, 200);
  EXPECT_EQ(cache_.entries(), 1u);
}

TEST(AnswerCacheOff, NoEntriesMeansEveryAnswerIsComputed) {
  IdentifiedSource source;
  testing::ManualClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  aggregation::TrafficMetricsService service(source, clock, {});
  source.resource_samples.known_objects = {{"Deployment", "emojivoto", "web", ""}};
  AnswerCache cache({/*max_entries=*/0}, clock);
  ApiHandler handler(service);
  handler.set_answer_cache(&cache);
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  EXPECT_EQ(handler.Handle(Request(path)).status, 200);
  EXPECT_EQ(handler.Handle(Request(path)).status, 200);
  EXPECT_EQ(source.queries.size(), 2u);
  EXPECT_EQ(cache.entries(), 0u);
}

// A source whose edge queries wait until the test opens the gate.
class GatedSource : public IdentifiedSource {
 public:
  sources::TrafficSamples Fetch(const sources::SampleQuery& query) override {
    if (std::holds_alternative<sources::ObjectEdges>(query.shape)) {
      std::unique_lock lock(mu_);
      waiting_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
    }
    return IdentifiedSource::Fetch(query);
  }
  bool WaitUntilAQueryWaits() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [this] { return waiting_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool waiting_ = false;
  bool open_ = false;
};

// A TLS client with a client certificate; a read gives up after 10 s.
class TlsClient {
 public:
  TlsClient(int port, const PemPair& identity) : ctx_(ClientContext(identity)), stream_(io_, ctx_) {
    namespace asio = boost::asio;
    stream_.set_verify_mode(asio::ssl::verify_none);
    stream_.lowest_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                           static_cast<unsigned short>(port)));
    stream_.handshake(asio::ssl::stream_base::client);
  }
  // The context carries the certificate before the stream is made from it.
  static boost::asio::ssl::context ClientContext(const PemPair& identity) {
    namespace asio = boost::asio;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.use_certificate_chain(asio::buffer(identity.cert));
    ctx.use_private_key(asio::buffer(identity.key), asio::ssl::context::pem);
    return ctx;
  }

  void Send(const std::string& path) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    boost::asio::write(stream_, boost::asio::buffer(request));
  }
  // The status line and body of one answer; empty when none came within 10 s (the read is then
  // abandoned, so a server that never answers fails the test instead of hanging it).
  std::pair<std::string, std::string> Read() {
    namespace asio = boost::asio;
    size_t end = 0;
    if (!Bounded([&](auto done) {
          asio::async_read_until(stream_, buffer_, "\r\n\r\n",
                                 [&end, done](boost::system::error_code ec, size_t n) {
                                   end = ec ? 0 : n;
                                   done(!ec);
                                 });
        })) {
      return {};
    }
    std::string head(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<long>(end));
    buffer_.consume(end);
    const auto cl = head.find("Content-Length: ");
    const size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
    if (buffer_.size() < length && !Bounded([&](auto done) {
          asio::async_read(stream_, buffer_, asio::transfer_exactly(length - buffer_.size()),
                           [done](boost::system::error_code ec, size_t) { done(!ec); });
        })) {
      return {};
    }
    std::string body(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<long>(length));
    buffer_.consume(length);
    return {head.substr(0, head.find("\r\n")), body};
  }

  // Runs the operation `start` begins (it calls done(ok) when it ends) for at most 10 s.
  template <typename Start>
  bool Bounded(Start start) {
    bool finished = false, ok = false;
    start([&](bool success) {
      finished = true;
      ok = success;
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    if (!finished) {
      boost::system::error_code ignored;
      stream_.lowest_layer().close(ignored);
      io_.restart();
      io_.run();
      return false;
    }
    return ok;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  boost::asio::streambuf buffer_;
};

// Over TLS: with the only worker thread waiting on the backend, a kept answer is still written
// (from the event loop), the same bytes as before.
TEST(AnswerCacheServed, AKeptAnswerIsServedWhileEveryWorkerWaits) {
  GatedSource source;
  source.retention = 1h;
  source.resource_samples.known_objects = {{"Deployment", "emojivoto", "web", ""}};
  source.resource_samples.resources = {{{"Deployment", "emojivoto", "web", ""}, Counts(9, 1)}};
  source.edge_samples.known_objects = {{"Deployment", "emojivoto", "web", ""}};
  testing::ManualClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  aggregation::TrafficMetricsService service(source, clock, {});
  AnswerCache cache({}, clock);
  ApiHandler handler(service);
  handler.set_answer_cache(&cache);

  const PemPair ca = GenerateCa("answer cache test CA");
  CertRequest serving;
  serving.common_name = "localhost";
  serving.ip_addresses = {"127.0.0.1"};
  serving.server_auth = true;
  CertRequest user;
  user.common_name = "alice";
  user.client_auth = true;
  const PemPair alice = IssueCertificate(ca, user);
  ServingOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.serving = IssueCertificate(ca, serving);
  options.client_ca_pem = ca.cert;
  options.worker_threads = 1;
  HttpsServer server(options, handler);
  server.Start();

  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  TlsClient a(server.BoundPort(), alice);
  a.Send(path);
  const auto first = a.Read();
  ASSERT_EQ(first.first, "HTTP/1.1 200 OK") << first.second;

  TlsClient b(server.BoundPort(), alice);
  b.Send(path + "/edges");
  ASSERT_TRUE(source.WaitUntilAQueryWaits());  // the only worker waits on the backend
  a.Send(path);
  const auto kept = a.Read();
  EXPECT_EQ(kept.first, "HTTP/1.1 200 OK");
  EXPECT_EQ(kept.second, first.second);
  source.Open();
  EXPECT_EQ(b.Read().first, "HTTP/1.1 200 OK");
  server.Stop();
}

// The same against the list+watch caches of a fake kube-apiserver and its SubjectAccessReviews:
// a pod added there appears in the next answer once the caches have seen it; a user RBAC refuses
// gets 403 for an answer that is kept.
bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(AnswerCacheWatched, APodAddedOnTheClusterIsInTheNextAnswer) {
  fakekube::FakeKubeApi api;
  api.LoadFile(Fixture());
  api.SetAccessDecider([](const json& spec) {
    return json{{"allowed", spec.value("user", "") == "alice"}};
  });
  api.Start();
  const auto config = kube::ParseKubeconfig(api.Kubeconfig("fake-token"), "");
  kube::WatchedClusterState::Options options;
  options.reflector.initial_backoff = 20ms;
  options.reflector.max_backoff = 500ms;
  kube::WatchedClusterState cluster(config, options);
  cluster.Start();
  ASSERT_TRUE(Eventually([&] { return cluster.Synced(); }));
  kube::RestAccessReviewer reviewer(config);
  Authorizer authorizer({}, &reviewer);

  IdentifiedSource source;
  testing::ManualClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  aggregation::TrafficMetricsService service(source, clock, {}, &cluster);
  AnswerCache cache({}, clock);
  ApiHandler handler(service);
  handler.set_answer_cache(&cache);
  handler.set_authorizer(&authorizer);
  ApiHandler fresh(service);
  fresh.set_authorizer(&authorizer);

  const std::string path = std::string(kBase) + "/namespaces/emojivoto/pods";
  const auto before = handler.Handle(Request(path));
  ASSERT_EQ(before.status, 200) << before.body;
  const size_t pods = json::parse(before.body)["items"].size();
  EXPECT_EQ(handler.Handle(Request(path)).body, before.body);
  EXPECT_EQ(source.queries.size(), 1u);
  EXPECT_EQ(handler.Handle(Request(path, "", {}, "mallory")).status, 403);

  const uint64_t version = cluster.Snapshot()->version();
  api.Apply(fakekube::MakePod("emojivoto", "web-5f7b9c6d4b-new", {{"app", "web"}}, nullptr,
                              "10.244.0.99"));
  ASSERT_TRUE(Eventually([&] {
    const auto snapshot = cluster.Snapshot();
    return snapshot->version() != version &&
           snapshot->FindPod("emojivoto", "web-5f7b9c6d4b-new") != nullptr;
  }));
  const auto after = handler.Handle(Request(path));
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(json::parse(after.body)["items"].size(), pods + 1);
  EXPECT_EQ(source.queries.size(), 2u);
  EXPECT_EQ(after.body, fresh.Handle(Request(path)).body);
  EXPECT_EQ(handler.Handle(Request(path, "", {}, "mallory")).status, 403);
}

}  // namespace
}  // namespace smi::apiserver
