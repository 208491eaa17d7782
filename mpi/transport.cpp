#include "transport.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace pipebench::mpi {

namespace {

std::string value_of(const std::vector<std::pair<std::string, std::string>>& cvars, const std::string& name) {
  for (const auto& [n, v] : cvars)
    if (n == name) return v;
  return "";
}

// Whether a component selection ("tcp,self", "^openib") names `component` as one to use.
bool selects(const std::string& list, const std::string& component) {
  if (list.empty() || list[0] == '^') return false;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (list.compare(start, comma - start, component) == 0) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

long long parse_ucx_size(const std::string& text) {
  std::size_t i = 0;
  long long value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) value = value * 10 + (text[i++] - '0');
  if (i == 0) return -1;
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (unit.empty()) return value;
  if (unit == "k") return value << 10;
  if (unit == "m") return value << 20;
  if (unit == "g") return value << 30;
  return -1;
}

Transport describe_transport(const std::vector<std::pair<std::string, std::string>>& cvars, bool across_hosts,
                             const std::function<const char*(const char*)>& getenv) {
  Transport t;
  t.pml = value_of(cvars, "pml");
  t.btl = value_of(cvars, "btl");
  if (t.pml == "ucx") {
    const char* tls = getenv("UCX_TLS");
    t.name = std::string("ucx over ") + (tls ? tls : "UCX's choice of transports");
    // UCX's rendezvous threshold: "auto" (its default) is decided inside UCX per transport and
    // message, and no interface of Open MPI reports it.
    const char* thresh = getenv("UCX_RNDV_THRESH");
    t.eager_limit_bytes = thresh ? parse_ucx_size(thresh) : -1;
    t.eager_limit_source = t.eager_limit_bytes >= 0 ? "UCX_RNDV_THRESH"
                                                    : std::string("not known: UCX picks its rendezvous threshold (UCX_RNDV_THRESH=") +
                                                          (thresh ? thresh : "auto") + ")";
    return t;
  }
  if (t.pml != "ob1") {  // another PML, or Open MPI's own pick: which one ran is not reported
    t.name = "Open MPI's choice (pml " + (t.pml.empty() ? std::string("not set") : t.pml) + ")";
    t.eager_limit_source = "not known: the PML was not named";
    return t;
  }
  // ob1 sends through the best BTL to each peer: vader within a node, tcp between hosts.
  const std::string btl = across_hosts ? "tcp" : (selects(t.btl, "tcp") && !selects(t.btl, "vader") ? "tcp" : "vader");
  t.name = std::string("ob1 over ") + (btl == "tcp" ? "tcp" : "shared memory (vader)");
  if (btl == "tcp") {
    const std::string thread = value_of(cvars, "btl_tcp_progress_thread");
    if (thread == "1" || thread == "true" || thread == "yes")
      t.own_progress = "the TCP BTL's progress thread (btl_tcp_progress_thread = " + thread + ")";
  }
  const std::string limit = value_of(cvars, "btl_" + btl + "_eager_limit");
  if (!limit.empty()) {
    t.eager_limit_bytes = std::atoll(limit.c_str());
    t.eager_limit_source = "btl_" + btl + "_eager_limit";
  } else {
    t.eager_limit_source = "not known: btl_" + btl + "_eager_limit not exposed";
  }
  return t;
}

}  // namespace pipebench::mpi
