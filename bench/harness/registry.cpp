#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

namespace pipebench::bench {

EntryRecord& Registry::add(EntryRecord record) {
  if (by_name_.count(record.name)) throw std::logic_error("entry registered twice: " + record.name);
  entries_.push_back(std::make_unique<EntryRecord>(std::move(record)));
  EntryRecord& r = *entries_.back();
  by_name_[r.name] = &r;
  return r;
}

const EntryRecord* Registry::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

EntryRecord* Registry::find(const std::string& name) {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const EntryRecord* Registry::sibling(const Pair* pair, Role role, const Params& params, const std::string& variant) const {
  for (const auto& e : entries_)
    if (e->pair == pair && e->variant->role == role && (variant.empty() || e->variant->name == variant) &&
        e->params.subset_of(params))
      return e.get();
  return nullptr;
}

namespace {
struct Registered {
  std::string domain, name;
  PairFactory factory;
};
std::vector<Registered>& registered() {
  static std::vector<Registered> all;  // constructed on first use, before any registrar reads it
  return all;
}
}  // namespace

bool register_pair(const std::string& domain, const std::string& name, PairFactory factory) {
  registered().push_back({domain, name, factory});
  return true;
}

std::vector<PairFactory> registered_pairs(const std::string& domain) {
  std::vector<Registered> mine;
  for (const auto& r : registered())
    if (r.domain == domain) mine.push_back(r);
  std::sort(mine.begin(), mine.end(), [](const Registered& a, const Registered& b) { return a.name < b.name; });
  std::vector<PairFactory> out;
  for (const auto& r : mine) out.push_back(r.factory);
  return out;
}

}  // namespace pipebench::bench
