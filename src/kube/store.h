// Internal to src/kube: the per-resource object stores behind the caches, shared by the watched
// (list+watch) and the static (file-fed) cluster states. Not for use outside src/kube.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "kube/cluster_state.h"
#include "kube/reflector.h"

namespace smi::kube::internal {

inline ObjectKey KeyOf(const nlohmann::json& object) {
  const auto& md = object.at("metadata");
  return {md.value("namespace", ""), md.at("name").get<std::string>()};
}

// Copy-on-write: readers take the current map (a shared_ptr) under the lock and never see it
// change; a writer copies the map only when a reader still holds it.
template <typename T>
class TypedStore : public ReflectorSink {
 public:
  using Decoder = std::function<T(const nlohmann::json&)>;
  // Told, outside the store's lock, of the objects a change removed (a deletion, a re-list that
  // no longer holds them, a clear).
  using OnRemoved = std::function<void(std::vector<std::shared_ptr<const T>>)>;

  TypedStore(Decoder decode, std::atomic<uint64_t>* changes)
      : decode_(std::move(decode)), changes_(changes), current_(std::make_shared<ObjectMap<T>>()) {}

  // Set before the store is used.
  void SetOnRemoved(OnRemoved on_removed) { on_removed_ = std::move(on_removed); }

  void SetDecoder(Decoder decode) {
    std::lock_guard lock(mu_);
    decode_ = std::move(decode);
  }

  std::shared_ptr<const ObjectMap<T>> View() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  class MapBatch : public Batch {
   public:
    explicit MapBatch(Decoder decode) : decode_(std::move(decode)) {}
    void Add(const nlohmann::json& object) override {
      try {
        map_->insert_or_assign(KeyOf(object), std::make_shared<const T>(decode_(object)));
      } catch (const std::exception&) {
        ++skipped_;
      }
    }
    Decoder decode_;
    std::shared_ptr<ObjectMap<T>> map_ = std::make_shared<ObjectMap<T>>();
    size_t skipped_ = 0;
  };

  std::unique_ptr<Batch> NewBatch() override {
    std::lock_guard lock(mu_);
    return std::make_unique<MapBatch>(decode_);
  }

  void Replace(std::unique_ptr<Batch> batch) override {
    auto* b = static_cast<MapBatch*>(batch.get());
    std::vector<std::shared_ptr<const T>> removed;
    {
      std::lock_guard lock(mu_);
      if (on_removed_) {
        for (const auto& [key, value] : *current_) {
          if (!b->map_->contains(key)) removed.push_back(value);
        }
      }
      current_ = std::move(b->map_);
      Changed();
    }
    Removed(std::move(removed));
  }

  bool Upsert(const nlohmann::json& object) override {
    ObjectKey key;
    std::shared_ptr<const T> value;
    {
      std::lock_guard lock(mu_);
      try {
        key = KeyOf(object);
        value = std::make_shared<const T>(decode_(object));
      } catch (const std::exception&) {
        return false;
      }
      Writable().insert_or_assign(std::move(key), std::move(value));
      Changed();
    }
    return true;
  }

  bool Remove(const nlohmann::json& object) override {
    ObjectKey key;
    try {
      key = KeyOf(object);
    } catch (const std::exception&) {
      return false;
    }
    return RemoveKey(key);
  }

  bool RemoveKey(const ObjectKey& key) {
    std::shared_ptr<const T> removed;
    {
      std::lock_guard lock(mu_);
      const auto it = current_->find(key);
      if (it == current_->end()) return false;
      removed = it->second;
      Writable().erase(key);
      Changed();
    }
    Removed({std::move(removed)});
    return true;
  }

  void Clear() override {
    std::vector<std::shared_ptr<const T>> removed;
    {
      std::lock_guard lock(mu_);
      if (current_->empty()) return;
      if (on_removed_) {
        for (const auto& [key, value] : *current_) removed.push_back(value);
      }
      current_ = std::make_shared<ObjectMap<T>>();
      Changed();
    }
    Removed(std::move(removed));
  }

 private:
  ObjectMap<T>& Writable() {
    if (current_.use_count() > 1) current_ = std::make_shared<ObjectMap<T>>(*current_);
    return *current_;
  }
  void Changed() { changes_->fetch_add(1); }
  void Removed(std::vector<std::shared_ptr<const T>> removed) {
    if (on_removed_ && !removed.empty()) on_removed_(std::move(removed));
  }

  mutable std::mutex mu_;
  OnRemoved on_removed_;
  Decoder decode_;
  std::atomic<uint64_t>* changes_;
  std::shared_ptr<ObjectMap<T>> current_;
};

// The seven stores, and snapshots of them taken together.
class StoreSet {
 private:
  std::atomic<uint64_t> changes_{0};  // before the stores, which count into it

 public:
  StoreSet();

  TypedStore<Pod> pods;
  TypedStore<Workload> replicasets, deployments, statefulsets, daemonsets;
  TypedStore<Namespace> namespaces;
  TypedStore<TrafficSplit> splits;
  TypedStore<Workload> replicationcontrollers, jobs;
  TypedStore<Node> nodes;
  TypedStore<Service> services;

  ReflectorSink& Sink(Resource r);
  // The snapshot for the current version (cached until something changes).
  std::shared_ptr<const ClusterSnapshot> Snapshot(const std::string& split_version) const;

  // Deleted pods and their owners are kept for at least this long (never shortened).
  void RememberDepartedPodsFor(std::chrono::milliseconds d);
  // The clock that dates departures; not owned. Set before the stores are used.
  void SetClock(const base::Clock& clock) { clock_ = &clock; }

 private:
  // Remembers pods the pod store no longer holds, with the owners the other stores give them now.
  void PodsDeparted(std::vector<std::shared_ptr<const Pod>> pods);

  const base::Clock* clock_;
  std::atomic<int64_t> departed_memory_ms_;
  mutable std::mutex departed_mu_;
  std::shared_ptr<DepartedPods> departed_;  // copy-on-write, under departed_mu_

  mutable std::mutex snapshot_mu_;
  mutable std::shared_ptr<const ClusterSnapshot> cached_;
  mutable uint64_t cached_version_ = ~uint64_t{0};
  mutable std::string cached_split_version_;

 public:
  std::atomic<uint64_t>& changes() { return changes_; }
};

}  // namespace smi::kube::internal
