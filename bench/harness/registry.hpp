#pragma once
// Every entry the harness registered, with what the model needs to find its siblings.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pair.hpp"

namespace pipebench::bench {

struct EntryRecord {
  std::string name;  // domain/workload/variant/params, the contract name
  const Pair* pair = nullptr;
  const Variant* variant = nullptr;
  Params instance_params;  // the point of the pair's own axes
  Params params;           // instance_params plus the variant's
  // Filled in when the entry runs (they depend on the bound Entry).
  double flops = 0.0;
  double bytes = 0.0;
  std::size_t working_set = 0;
};

class Registry {
 public:
  EntryRecord& add(EntryRecord record);  // throws on a duplicate name
  bool contains(const std::string& name) const { return by_name_.count(name) != 0; }
  const EntryRecord* find(const std::string& name) const;
  EntryRecord* find(const std::string& name);
  // The entry of `pair` whose variant has `role` (and name, if given) and whose parameters
  // are all shared, with the same values, by `params`; nullptr if none was registered.
  const EntryRecord* sibling(const Pair* pair, Role role, const Params& params, const std::string& variant = "") const;
  const std::vector<std::unique_ptr<EntryRecord>>& entries() const { return entries_; }

 private:
  std::vector<std::unique_ptr<EntryRecord>> entries_;
  std::map<std::string, EntryRecord*> by_name_;
};

}  // namespace pipebench::bench
