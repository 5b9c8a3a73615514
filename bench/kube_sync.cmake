# bench/kube_sync: how long the caches take to sync N pods (with their ReplicaSets and
# Deployments) from the fake API server, and the memory they hold per pod. Not a test; run it by
# hand (Release): build-dir/test/kube/kube_sync_bench
add_executable(kube_sync_bench ${CMAKE_CURRENT_LIST_DIR}/kube_sync.cpp)
target_link_libraries(kube_sync_bench PRIVATE smi_kube fakekube)
