#pragma once
// Every entry the harness registered, and the siblings each one is held against: its serial
// entry, its reference, the stages of its model. Found once, after registration, by the
// sibling rule (results/README.md): the entry of the same pair whose every parameter has the
// same value in this entry's parameters.
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
  bool traced = false;     // --trace: its traced pass ran (on every process, so all run it once)
  std::string trace_file;  // --trace: the file its traced pass was written to (rank 0)

  // Siblings (Registry::link); nullptr: none registered (filtered out, or the pair has none).
  const EntryRecord* serial = nullptr;     // pipelined, alternative, reference
  const EntryRecord* reference = nullptr;  // alternative
  struct Stage {
    const Variant* variant;
    const EntryRecord* entry;  // nullptr: not registered
  };
  std::vector<Stage> stages;  // pipelined: the stage variants its model uses, in the pair's order
  std::vector<Stage> terms;   // the model's terms (Model::terms)
  // The siblings whose times this entry's counters need: it is reported when they have run.
  std::vector<const EntryRecord*> waits_for() const;
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
  // Finds every entry's siblings; called once every entry is registered.
  void link();
  const std::vector<std::unique_ptr<EntryRecord>>& entries() const { return entries_; }

 private:
  std::vector<std::unique_ptr<EntryRecord>> entries_;
  std::map<std::string, EntryRecord*> by_name_;
};

}  // namespace pipebench::bench
