#include "registry.hpp"

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

}  // namespace pipebench::bench
